using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace TaskServer.Client.Tests.Fakes;

/// <summary>Every gateway the client talks to, in process: each request is recorded and answered by the test's function.</summary>
internal sealed class StubGateways(Func<StubGateways.Request, int, HttpResponseMessage> answer) : HttpMessageHandler
{
    public sealed record Request(HttpMethod Method, Uri Uri, string? IdempotencyKey, string? Authorization, string? Body);

    private readonly List<Request> requests = [];

    /// <summary>A copy, in arrival order: the client may send from several threads at once.</summary>
    public IReadOnlyList<Request> Requests
    {
        get
        {
            lock (requests)
            {
                return [.. requests];
            }
        }
    }

    public IEnumerable<string> Hosts => Requests.Select(r => r.Uri.GetLeftPart(UriPartial.Authority));

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var recorded = new Request(
            request.Method,
            request.RequestUri!,
            request.Headers.TryGetValues("Idempotency-Key", out var keys) ? keys.Single() : null,
            request.Headers.Authorization?.ToString(),
            request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken));
        int call;
        lock (requests)
        {
            requests.Add(recorded);
            call = requests.Count - 1;
        }

        return answer(recorded, call);
    }

    public static HttpResponseMessage Task(HttpStatusCode code, Guid id, string status) =>
        new(code)
        {
            Content = new StringContent(
                $$"""
                {"id":"{{id}}","type":"echo","status":"{{status}}","attempt":1,"maxAttempts":3,"worker":"w1",
                 "createdAt":"2026-01-01T00:00:00Z","startedAt":null,"finishedAt":null,"payload":{"text":"hi"},"result":null,"error":null}
                """,
                Encoding.UTF8,
                "application/json"),
        };

    public static HttpResponseMessage Accepted(Guid? id = null) => Task(HttpStatusCode.Accepted, id ?? Guid.NewGuid(), "Queued");

    public static HttpResponseMessage Problem(HttpStatusCode code, string slug, string detail = "", TimeSpan? retryAfter = null)
    {
        var response = new HttpResponseMessage(code)
        {
            Content = new StringContent(
                $$"""{"type":"urn:taskserver:problem:{{slug}}","title":"{{slug}}","status":{{(int)code}},"detail":"{{detail}}"}""",
                Encoding.UTF8,
                "application/problem+json"),
        };
        if (retryAfter is { } delay)
        {
            response.Headers.RetryAfter = new RetryConditionHeaderValue(delay);
        }

        return response;
    }

    /// <summary>A backup's answer; the real one also carries Retry-After: 1, left out here to keep the tests fast.</summary>
    public static HttpResponseMessage NotPrimary(string? primary)
    {
        var response = Problem(HttpStatusCode.ServiceUnavailable, "not-primary");
        if (primary is not null)
        {
            response.Headers.Add(TaskServerClient.PrimaryHeader, primary);
        }

        return response;
    }
}
