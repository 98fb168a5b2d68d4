using System.Net.Http.Json;
using System.Text.Json;
using TaskServer.Drill.Load;

namespace TaskServer.Drill.Bench;

/// <summary>
/// A closed loop: C callers, each sending its next request as soon as the last one is answered, for a
/// duration or until a number of requests have been sent. This measures how much a path can take.
/// </summary>
internal sealed class ClosedLoop(HttpClient http, RunClock clock)
{
    private int sent;
    private int answered;

    public int Sent => Volatile.Read(ref sent);

    public int Answered => Volatile.Read(ref answered);

    /// <param name="request">Builds request number i.</param>
    /// <param name="limit">Stops after this many requests (or at the end of <paramref name="duration"/>).</param>
    public async Task<IReadOnlyList<Submission>> RunAsync(
        Func<int, HttpRequestMessage> request, int concurrency, TimeSpan duration, int limit, CancellationToken cancellationToken)
    {
        Volatile.Write(ref sent, 0);
        Volatile.Write(ref answered, 0);
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

                records.Add(await SendAsync(index, request(index), cancellationToken));
                Interlocked.Increment(ref answered);
            }

            return records;
        });
        return [.. (await Task.WhenAll(callers)).SelectMany(r => r).OrderBy(r => r.Index)];
    }

    private async Task<Submission> SendAsync(int index, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        {
            var start = clock.NowMs;
            try
            {
                using var response = await http.SendAsync(request, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    return new Submission(index, "echo", start, null, null, null, $"{(int)response.StatusCode} {response.ReasonPhrase}");
                }

                var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                return new Submission(index, "echo", start, clock.NowMs, body.GetProperty("id").GetGuid(), request.RequestUri!.GetLeftPart(UriPartial.Authority), null);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException or KeyNotFoundException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                return new Submission(index, "echo", start, null, null, null, e.Message);
            }
        }
    }
}
