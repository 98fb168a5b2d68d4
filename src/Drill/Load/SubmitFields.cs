using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace TaskServer.Drill.Load;

/// <summary>
/// Adds to a submission's body the task options the client library does not send (the per-attempt <c>timeout</c>),
/// found by the submission's Idempotency-Key, so that every retry of it carries them too. A server that does not
/// know a field ignores it.
/// </summary>
internal sealed class SubmitFields(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private readonly ConcurrentDictionary<string, KeyValuePair<string, string>[]> fields = new(StringComparer.Ordinal);

    /// <summary>Sends <paramref name="name"/>: <paramref name="value"/> with the submission of this key until <see cref="Forget"/>.</summary>
    public void Add(string idempotencyKey, string name, string value) =>
        fields.AddOrUpdate(idempotencyKey, [new(name, value)], (_, existing) => [.. existing.Where(f => f.Key != name), new(name, value)]);

    public void Forget(string idempotencyKey) => fields.TryRemove(idempotencyKey, out _);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method == HttpMethod.Post
            && request.Content is { } content
            && request.Headers.TryGetValues("Idempotency-Key", out var keys)
            && fields.TryGetValue(keys.First(), out var extra)
            && JsonNode.Parse(await content.ReadAsByteArrayAsync(cancellationToken)) is JsonObject body)
        {
            foreach (var (name, value) in extra)
            {
                body[name] = value;
            }

            request.Content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            content.Dispose();
        }

        return await base.SendAsync(request, cancellationToken);
    }
}
