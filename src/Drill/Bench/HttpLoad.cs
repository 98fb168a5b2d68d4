using System.Net.Http.Json;
using System.Text.Json;
using TaskServer.Drill.Load;

namespace TaskServer.Drill.Bench;

/// <summary>
/// Raw requests on one path, without the client's retries: a closed loop (C callers, each sending its next
/// request as soon as the last one is answered: how much a path can take) or a paced open loop (a request
/// every 1/R s whatever the answers: the latency at a given rate).
/// </summary>
internal sealed class HttpLoad(HttpClient http, RunClock clock)
{
    /// <param name="request">Builds request number i.</param>
    /// <param name="limit">Stops after this many requests (or at the end of <paramref name="duration"/>).</param>
    public async Task<IReadOnlyList<Submission>> RunAsync(
        Func<int, HttpRequestMessage> request, int concurrency, TimeSpan duration, int limit, CancellationToken cancellationToken)
    {
        var sent = 0;
        var until = clock.NowMs + duration.TotalMilliseconds;
        var callers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var records = new List<Submission>();
            while (clock.NowMs < until)
            {
                var index = Interlocked.Increment(ref sent) - 1;
                if (index >= limit)
                {
                    break;
                }

                records.Add(await SendAsync(index, request(index), cancellationToken, cancellationToken));
            }

            return records;
        });
        return [.. (await Task.WhenAll(callers)).SelectMany(r => r).OrderBy(r => r.Index)];
    }

    /// <summary>Request i is sent at i/R s after the start, answered or not; each is abandoned after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<Submission>> PacedAsync(
        Func<int, HttpRequestMessage> request, double ratePerSecond, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var requests = new Task<Submission>[count];
        var origin = clock.NowMs;
        for (var i = 0; i < count; i++)
        {
            var wait = origin + (i * 1000.0 / ratePerSecond) - clock.NowMs;
            if (wait > 1)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
            }

            requests[i] = TimedAsync(i, request(i), timeout, cancellationToken);
        }

        return await Task.WhenAll(requests);
    }

    private async Task<Submission> TimedAsync(int index, HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        return await SendAsync(index, request, deadline.Token, cancellationToken);
    }

    /// <param name="requestToken">Ends this request (its own deadline, or the run's end).</param>
    /// <param name="cancellationToken">The run's: only its cancellation is not an answer.</param>
    private async Task<Submission> SendAsync(int index, HttpRequestMessage request, CancellationToken requestToken, CancellationToken cancellationToken)
    {
        using (request)
        {
            var start = clock.NowMs;
            try
            {
                using var response = await http.SendAsync(request, requestToken);
                if (!response.IsSuccessStatusCode)
                {
                    return new Submission(index, "echo", start, null, null, null, $"{(int)response.StatusCode} {response.ReasonPhrase}");
                }

                var body = await response.Content.ReadFromJsonAsync<JsonElement>(requestToken);
                return new Submission(index, "echo", start, clock.NowMs, body.GetProperty("id").GetGuid(), request.RequestUri!.GetLeftPart(UriPartial.Authority), null);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException or KeyNotFoundException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                return new Submission(index, "echo", start, null, null, null, e.Message);
            }
        }
    }
}
