using TaskServer.Client;

namespace TaskServer.Drill.Load;

/// <summary>What one submission asks for; the options the server's defaults decide when null.</summary>
/// <param name="Timeout">The per-attempt timeout as a duration ("5s"), sent through <see cref="SubmitFields"/>.</param>
internal sealed record TaskSpec(string Type, object Payload, int? MaxAttempts = null, string? Timeout = null);

/// <summary>
/// An open-loop load: submissions start on a fixed schedule (rate R) whether or not earlier ones were
/// acknowledged, as independent clients would send them, so an outage shows as a pile of waiting
/// submissions rather than as a pause in sending. Each goes through the failover-aware client.
/// </summary>
internal sealed class SubmissionLoad(TaskServerClient client, AckRecorder recorder, SubmitFields fields, RunClock clock)
{
    // Bounds the submissions waiting at once (an outage at a high rate); past it, sending waits.
    private const int MaxInFlight = 1024;

    private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int startedCount;
    private int acknowledgedCount;
    private int threshold = int.MaxValue;

    public int Started => Volatile.Read(ref startedCount);

    public int Acknowledged => Volatile.Read(ref acknowledgedCount);

    /// <summary>Completes once <paramref name="count"/> submissions have been sent (the moment a drill strikes).</summary>
    public Task WhenStartedAsync(int count, CancellationToken cancellationToken)
    {
        Volatile.Write(ref threshold, count);
        if (Started >= count)
        {
            started.TrySetResult();
        }

        return started.Task.WaitAsync(cancellationToken);
    }

    /// <param name="giveUpAfter">
    /// When set, submissions still unanswered this long after the start are abandoned and recorded as
    /// errors: on an overloaded cluster the client's retries would otherwise stretch a timed phase for minutes.
    /// </param>
    /// <param name="acknowledged">Told of each submission as it is acknowledged, for a drill that follows its tasks while the load runs.</param>
    public async Task<IReadOnlyList<Submission>> RunAsync(
        int count, double ratePerSecond, Func<int, TaskSpec> spec, CancellationToken cancellationToken, TimeSpan? giveUpAfter = null, Action<Submission>? acknowledged = null)
    {
        using var inFlight = new SemaphoreSlim(MaxInFlight);
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (giveUpAfter is { } limit)
        {
            abandon.CancelAfter(limit);
        }

        var submissions = new Task<Submission>[count];
        var origin = clock.NowMs;
        for (var i = 0; i < count; i++)
        {
            var due = origin + (i * 1000.0 / ratePerSecond);
            var wait = due - clock.NowMs;
            if (wait > 1)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
            }

            await inFlight.WaitAsync(cancellationToken);
            submissions[i] = SubmitAsync(i, spec(i), inFlight, acknowledged, abandon.Token, cancellationToken);
            if (Interlocked.Increment(ref startedCount) >= Volatile.Read(ref threshold))
            {
                started.TrySetResult();
            }
        }

        return await Task.WhenAll(submissions);
    }

    private async Task<Submission> SubmitAsync(int index, TaskSpec spec, SemaphoreSlim inFlight, Action<Submission>? acknowledged, CancellationToken abandon, CancellationToken cancellationToken)
    {
        var key = Guid.NewGuid().ToString("N");
        var sent = clock.NowMs;
        if (spec.Timeout is { } timeout)
        {
            fields.Add(key, "timeout", timeout);
        }

        try
        {
            var task = await client.SubmitAsync(spec.Type, spec.Payload, spec.MaxAttempts, key, abandon);
            Interlocked.Increment(ref acknowledgedCount);
            var submission = new Submission(index, spec.Type, sent, clock.NowMs, task.Id, recorder.GatewayOf(key), null);
            acknowledged?.Invoke(submission);
            return submission;
        }
        catch (Exception e) when (e is TaskServerException or HttpRequestException or IOException or System.Text.Json.JsonException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Refused for good, an answer cut off by the strike, abandoned at the end of a timed phase, or a
            // cancellation that was not ours (a timeout the client did not retry): never acknowledged, so never owed.
            var error = abandon.IsCancellationRequested ? "abandoned: unanswered when the phase ended" : e.Message;
            return new Submission(index, spec.Type, sent, null, null, null, error);
        }
        finally
        {
            fields.Forget(key);
            inFlight.Release();
        }
    }
}
