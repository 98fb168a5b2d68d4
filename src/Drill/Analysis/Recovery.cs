using TaskServer.Drill.Load;

namespace TaskServer.Drill.Analysis;

/// <summary>How one submission of a fault-tolerance run ended: when it finished (ms since the run's start) and whether its result was right.</summary>
internal sealed record Outcome(double? FinishedMs, bool Correct);

/// <summary>The load figures of a run or a phase: acknowledged per second, submit latency, and the share of submissions served right.</summary>
internal sealed record LoadTestResult(double? Rps, double? AvgLatencyMs, double? P95LatencyMs, double? P99LatencyMs, double? SuccessRate)
{
    /// <summary>Success: acknowledged, then Succeeded with the right result.</summary>
    public static LoadTestResult Of(IReadOnlyList<Submission> submissions, IReadOnlyDictionary<Guid, Outcome> outcomes, double durationMs)
    {
        var acknowledged = submissions.Where(s => s.Acknowledged).ToList();
        var latencies = acknowledged.Select(s => s.LatencyMs!.Value).Order().ToList();
        var served = acknowledged.Count(s => outcomes.TryGetValue(s.TaskId!.Value, out var o) && o.Correct);
        return new LoadTestResult(
            durationMs > 0 ? Math.Round(acknowledged.Count / (durationMs / 1000), 1) : null,
            latencies.Count == 0 ? null : Math.Round(latencies.Average(), 1),
            Percentiles.Of(latencies, 95),
            Percentiles.Of(latencies, 99),
            submissions.Count == 0 ? null : Math.Round(served / (double)submissions.Count, 4));
    }
}

/// <summary>
/// Time to recover, strike -> service as before, from the run's own records. Service as before: of the
/// submissions sent in a window of <see cref="RecoveryCriteria.WindowMs"/>, at least
/// <see cref="RecoveryCriteria.ServedShare"/> were acknowledged no slower than the baseline allows, finished
/// correctly no slower than the baseline allows, and none failed. The baseline is the submissions sent before
/// the strike, less the first <see cref="RecoveryCriteria.WarmUpMs"/> (connections opening): a submission is
/// prompt when its latency is within max(2 x baseline p95, baseline p95 + 50 ms). The first window start (from
/// the strike, in steps) that meets this is the recovery.
/// </summary>
internal static class Recovery
{
    public static double? TimeToRecover(IReadOnlyList<Submission> submissions, IReadOnlyDictionary<Guid, Outcome> outcomes, double strikeMs, RecoveryCriteria criteria)
    {
        var before = submissions.Where(s => s.SentMs < strikeMs && s.Acknowledged).ToList();
        var warm = before.Where(s => s.SentMs >= criteria.WarmUpMs).ToList();
        var baseline = warm.Count > 0 ? warm : before;
        if (baseline.Count == 0)
        {
            return null;
        }

        var ackLimit = Limit(baseline.Select(s => s.LatencyMs!.Value));
        var finishLimit = Limit(baseline
            .Where(s => outcomes.TryGetValue(s.TaskId!.Value, out var o) && o.FinishedMs is not null)
            .Select(s => outcomes[s.TaskId!.Value].FinishedMs!.Value - s.SentMs));
        var sent = submissions.OrderBy(s => s.SentMs).ToList();
        var lastSent = sent[^1].SentMs;
        for (var start = strikeMs; start + criteria.WindowMs <= lastSent + criteria.StepMs; start += criteria.StepMs)
        {
            var window = sent.Where(s => s.SentMs >= start && s.SentMs < start + criteria.WindowMs).ToList();
            if (window.Count == 0 || window.Any(s => s.Error is not null))
            {
                continue;
            }

            var prompt = window.Count(s => Served(s, outcomes, ackLimit, finishLimit));
            if (prompt >= criteria.ServedShare * window.Count)
            {
                return Math.Round(start - strikeMs, 1);
            }
        }

        return null;
    }

    private static double Limit(IEnumerable<double> baseline)
    {
        var p95 = Percentiles.Of([.. baseline.Order()], 95) ?? 0;
        return Math.Max(2 * p95, p95 + 50);
    }

    private static bool Served(Submission s, IReadOnlyDictionary<Guid, Outcome> outcomes, double ackLimit, double finishLimit) =>
        s.Acknowledged
        && s.LatencyMs <= ackLimit
        && outcomes.TryGetValue(s.TaskId!.Value, out var outcome)
        && outcome.Correct
        && outcome.FinishedMs - s.SentMs <= finishLimit;
}

/// <param name="WindowMs">How long service must hold to count as recovered.</param>
/// <param name="StepMs">The resolution of the recovery time.</param>
/// <param name="ServedShare">The share of the window's submissions that must be served promptly and right.</param>
/// <param name="WarmUpMs">The start of the run left out of the baseline: the first submissions open the connections.</param>
internal sealed record RecoveryCriteria(double WindowMs = 2000, double StepMs = 50, double ServedShare = 0.98, double WarmUpMs = 1000);
