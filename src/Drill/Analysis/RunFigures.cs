using TaskServer.Drill.Load;

namespace TaskServer.Drill.Analysis;

/// <summary>A task as last seen when the drill drained: its status and its attempt number.</summary>
internal sealed record ObservedTask(string Status, int Attempt)
{
    public bool IsFinal => Status is "Succeeded" or "Failed" or "Cancelled";
}

/// <summary>What a drill's run adds up to, computed from its records alone (no network), so it can be tested on synthetic runs.</summary>
internal sealed record RunFigures(
    int Submitted,
    int Acknowledged,
    int SubmitErrors,
    int Succeeded,
    int Failed,
    int Cancelled,
    int Lost,
    IReadOnlyList<Guid> LostIds,
    int Duplicates,
    int RepeatedAttempts,
    int MissingSideEffects,
    int Requeued,
    double? TtrMs,
    double? UnavailableMs,
    double? ThroughputPerS,
    LatencySummary Latency)
{
    /// <param name="observed">The last state of each acknowledged task the drain saw.</param>
    /// <param name="callbacks">The attempt numbers that called back, per task.</param>
    /// <param name="disruptionMs">When the drill struck (ms since the start), if it did.</param>
    /// <param name="disruptedGateway">The gateway it took out (scheme://host:port), when it was a gateway: acknowledgements from it do not count as recovery.</param>
    public static RunFigures Compute(
        IReadOnlyList<Submission> submissions,
        IReadOnlyDictionary<Guid, ObservedTask> observed,
        IReadOnlyDictionary<Guid, IReadOnlyList<int>> callbacks,
        double? disruptionMs,
        string? disruptedGateway)
    {
        var acknowledged = submissions.Where(s => s.Acknowledged).ToList();
        var ids = acknowledged.Select(s => s.TaskId!.Value).Distinct().ToList();
        var finals = ids.Where(id => observed.TryGetValue(id, out var task) && task.IsFinal).Select(id => observed[id]).ToList();
        var lost = ids.Where(id => !(observed.TryGetValue(id, out var task) && task.IsFinal)).ToList();
        var callbackTasks = acknowledged.Where(s => s.Type == "callback").Select(s => s.TaskId!.Value).ToHashSet();

        return new RunFigures(
            submissions.Count,
            acknowledged.Count,
            submissions.Count(s => s.Error is not null),
            finals.Count(t => t.Status == "Succeeded"),
            finals.Count(t => t.Status == "Failed"),
            finals.Count(t => t.Status == "Cancelled"),
            lost.Count,
            lost,
            callbacks.Count(c => c.Value.Count > 1),
            callbacks.Count(c => c.Value.Distinct().Count() < c.Value.Count),
            callbackTasks.Count(id => observed.TryGetValue(id, out var task) && task.Status == "Succeeded" && !callbacks.ContainsKey(id)),
            finals.Count(t => t.Attempt > 1),
            disruptionMs is { } struck && disruptedGateway is not null ? TimeToRecover(acknowledged, struck, disruptedGateway) : null,
            disruptionMs is { } at ? LongestGapAfter(acknowledged, at) : null,
            Throughput(submissions, acknowledged),
            LatencySummary.Of(acknowledged.Select(s => s.LatencyMs!.Value)));
    }

    /// <summary>From the strike to the first submission acknowledged by another gateway (DESIGN's TTR: kill -> first task accepted by the new primary).</summary>
    private static double? TimeToRecover(List<Submission> acknowledged, double struckMs, string disruptedGateway)
    {
        var first = acknowledged
            .Where(s => s.AckMs > struckMs && s.Gateway is not null && !string.Equals(s.Gateway, disruptedGateway, StringComparison.OrdinalIgnoreCase))
            .Select(s => s.AckMs!.Value)
            .DefaultIfEmpty(double.NaN)
            .Min();
        return double.IsNaN(first) ? null : Math.Round(first - struckMs, 1);
    }

    /// <summary>
    /// The longest silence between consecutive acknowledgements that ends after the strike: the outage
    /// as clients saw it (an answer already on its way when the primary died may land just after the kill,
    /// so every gap that ends after it is a candidate, not only the one containing it).
    /// </summary>
    private static double? LongestGapAfter(List<Submission> acknowledged, double struckMs)
    {
        var times = acknowledged.Select(s => s.AckMs!.Value).Order().ToList();
        double? longest = null;
        for (var i = 1; i < times.Count; i++)
        {
            if (times[i] > struckMs && (longest is null || times[i] - times[i - 1] > longest))
            {
                longest = times[i] - times[i - 1];
            }
        }

        return longest is null ? null : Math.Round(longest.Value, 1);
    }

    private static double? Throughput(IReadOnlyList<Submission> submissions, List<Submission> acknowledged)
    {
        if (acknowledged.Count == 0)
        {
            return null;
        }

        var span = acknowledged.Max(s => s.AckMs!.Value) - submissions.Min(s => s.SentMs);
        return span <= 0 ? null : Math.Round(acknowledged.Count / (span / 1000), 1);
    }
}
