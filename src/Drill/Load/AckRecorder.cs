using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using TaskServer.Client;

namespace TaskServer.Drill.Load;

/// <summary>
/// Sits under the client's retries and sees every attempt: which gateway acknowledged each submission
/// (by its Idempotency-Key, which stays the same across retries), when attempts failed, and which
/// answers were idempotent replays (a retry that found its task already stored).
/// </summary>
/// <remarks>
/// The handler keeps SocketsHttpHandler's default (unbounded) connect timeout: a stalled connect (a
/// stopped primary's full backlog) is then cut by the client's per-attempt timeout and retried, where
/// ConnectTimeout would surface as an OperationCanceledException that the client does not retry.
/// </remarks>
internal sealed class AckRecorder(RunClock clock, X509Certificate2? ca) : DelegatingHandler(new SocketsHttpHandler().Trusting(ca))
{
    private readonly ConcurrentDictionary<string, string> acknowledgedBy = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<FailedAttempt> failedAttempts = new();
    private int replays;

    /// <summary>Every submission attempt that failed: refused, timed out, or answered with an error status.</summary>
    public IReadOnlyCollection<FailedAttempt> FailedAttempts => failedAttempts;

    /// <summary>Failed attempts by reason ("503", "429", "timeout", "ConnectionError"), for the report.</summary>
    public IReadOnlyDictionary<string, int> FailedAttemptsByReason() =>
        failedAttempts.GroupBy(f => f.Reason).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());

    public int Replays => Volatile.Read(ref replays);

    public string? GatewayOf(string idempotencyKey) => acknowledgedBy.GetValueOrDefault(idempotencyKey);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var key = request.Method == HttpMethod.Post && request.Headers.TryGetValues("Idempotency-Key", out var keys) ? keys.FirstOrDefault() : null;
        if (key is null)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                acknowledgedBy[key] = request.RequestUri!.GetLeftPart(UriPartial.Authority);
                if (response.Headers.Contains("Idempotent-Replayed"))
                {
                    Interlocked.Increment(ref replays);
                }
            }
            else
            {
                failedAttempts.Enqueue(new FailedAttempt(clock.NowMs, await ReasonAsync(response, cancellationToken)));
            }

            return response;
        }
        catch (HttpRequestException e)
        {
            failedAttempts.Enqueue(new FailedAttempt(clock.NowMs, e.HttpRequestError.ToString()));
            throw;
        }
        catch (OperationCanceledException)
        {
            // The client's per-attempt timeout (or the run being cancelled).
            failedAttempts.Enqueue(new FailedAttempt(clock.NowMs, "timeout"));
            throw;
        }
    }

    /// <summary>"503 storage-unavailable": the status and, for a problem+json answer, its type's last segment (buffered, so the client still reads the body).</summary>
    private static async Task<string> ReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return status;
        }

        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // The body broke off half read: nobody can read this answer again (HttpClient's own buffering would throw
            // "already consumed"), so it is what it was on the wire, a response that ended early, for the client to retry.
            response.Dispose();
            throw new HttpRequestException(HttpRequestError.ResponseEnded, $"the {status} answer ended before its body did", e);
        }

        try
        {
            using var problem = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return problem.RootElement.TryGetProperty("type", out var type) && type.GetString() is { } urn ? $"{status} {urn[(urn.LastIndexOf(':') + 1)..]}" : status;
        }
        catch (System.Text.Json.JsonException)
        {
            return status;
        }
    }
}

/// <summary>A submission attempt that failed, when (ms since the run's start) and why.</summary>
internal sealed record FailedAttempt(double Ms, string Reason);
