using TaskServer.Drill.Analysis;

namespace TaskServer.Drill.Reports;

/// <summary>A condition a drill must leave true; the exit code is 0 only when all of them pass.</summary>
internal sealed record Invariant(string Name, bool Passed, string Detail);

/// <summary>The node a drill struck and how.</summary>
internal sealed record DrillTarget(string Action, string Node, string NodeId, int Pid, string Url);

/// <summary>The change of primary a gateway drill caused, as the new primary's GET /cluster records it.</summary>
internal sealed record FailoverRecord(
    long EpochBefore,
    long? EpochAfter,
    string OldHolder,
    string? NewHolder,
    DateTimeOffset? SuspectedAt,
    DateTimeOffset? PromotedAt,
    IReadOnlyList<EpochHolder> Epochs);

internal sealed record EpochHolder(long Epoch, string Holder);

/// <summary>The report of kill-primary, kill-worker and pause-primary (report.json, snake_case).</summary>
internal sealed record DrillReport(ReportHeader Header) : Report(Header)
{
    /// <summary>
    /// What every drill reports alike, from its run's figures; each drill adds its own (failover timings, how long
    /// orphans took) with <c>with</c>.
    /// </summary>
    public static DrillReport Of(ReportHeader header, RunFigures figures, Load.AckRecorder recorder, DrillTarget? target, IReadOnlyList<Invariant> invariants, IReadOnlyList<string> notes) => new(header)
    {
        Promoted = null,
        Submitted = figures.Submitted,
        Acknowledged = figures.Acknowledged,
        SubmitErrors = figures.SubmitErrors,
        Succeeded = figures.Succeeded,
        Failed = figures.Failed,
        Cancelled = figures.Cancelled,
        Lost = figures.Lost,
        LostIds = [.. figures.LostIds.Take(50)],
        Duplicates = figures.Duplicates,
        RepeatedAttempts = figures.RepeatedAttempts,
        MissingSideEffects = figures.MissingSideEffects,
        Requeued = figures.Requeued,
        IdempotentReplays = recorder.Replays,
        FailedAttempts = recorder.FailedAttemptsByReason(),
        TtdMs = null,
        TtdProbeMs = null,
        PromotedAfterMs = null,
        PromotionObservedMs = null,
        TtrMs = null,
        UnavailableMs = figures.UnavailableMs,
        OrphansRequeuedMs = null,
        ThroughputPerS = figures.ThroughputPerS,
        LatencyMs = figures.Latency,
        Target = target,
        Failover = null,
        Invariants = invariants,
        Passed = invariants.All(i => i.Passed),
        Notes = notes,
    };
    /// <summary>Whether a backup took over; null where no promotion is expected (kill-worker).</summary>
    public required bool? Promoted { get; init; }

    public required int Submitted { get; init; }

    public required int Acknowledged { get; init; }

    /// <summary>Submissions the client gave up on (every retry failed); never acknowledged, so never owed.</summary>
    public required int SubmitErrors { get; init; }

    public required int Succeeded { get; init; }

    public required int Failed { get; init; }

    public required int Cancelled { get; init; }

    /// <summary>Acknowledged but not final when the drain ended.</summary>
    public required int Lost { get; init; }

    public required IReadOnlyList<Guid> LostIds { get; init; }

    /// <summary>Tasks whose callback was seen more than once (a requeued attempt after a crash may legitimately repeat it).</summary>
    public required int Duplicates { get; init; }

    /// <summary>Tasks one of whose attempts called back more than once: a side effect repeated without a new attempt.</summary>
    public required int RepeatedAttempts { get; init; }

    /// <summary>Callback tasks reported Succeeded that never called back.</summary>
    public required int MissingSideEffects { get; init; }

    /// <summary>Tasks whose final attempt is above 1.</summary>
    public required int Requeued { get; init; }

    /// <summary>Retries answered with the task already stored (the first answer was lost).</summary>
    public required int IdempotentReplays { get; init; }

    /// <summary>Submission attempts that failed and were retried (or given up on), by reason: "503", "429", "timeout", "ConnectionError".</summary>
    public required IReadOnlyDictionary<string, int> FailedAttempts { get; init; }

    /// <summary>Kill -> the new primary suspecting the old one (its failover event's suspectedAt).</summary>
    public required double? TtdMs { get; init; }

    /// <summary>The new primary's own figure: last good probe of the old primary -> suspicion.</summary>
    public required double? TtdProbeMs { get; init; }

    /// <summary>The new primary's own figure: last good probe -> holding the lease.</summary>
    public required double? PromotedAfterMs { get; init; }

    /// <summary>Kill -> the backup's /health/primary first answering 200 (polled every 50 ms).</summary>
    public required double? PromotionObservedMs { get; init; }

    /// <summary>Kill -> first submission acknowledged by the new primary.</summary>
    public required double? TtrMs { get; init; }

    /// <summary>Longest gap between consecutive acknowledgements spanning the strike.</summary>
    public required double? UnavailableMs { get; init; }

    /// <summary>kill-worker: kill -> the dead worker's tasks all requeued (it leaves the registry once it owns nothing).</summary>
    public required double? OrphansRequeuedMs { get; init; }

    public required double? ThroughputPerS { get; init; }

    /// <summary>Submit -> acknowledgement, retries included.</summary>
    public required LatencySummary LatencyMs { get; init; }

    public required DrillTarget? Target { get; init; }

    public required FailoverRecord? Failover { get; init; }

    public required IReadOnlyList<Invariant> Invariants { get; init; }

    public required bool Passed { get; init; }

    public required IReadOnlyList<string> Notes { get; init; }
}
