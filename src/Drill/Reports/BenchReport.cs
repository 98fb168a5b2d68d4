using TaskServer.Drill.Analysis;

namespace TaskServer.Drill.Reports;

/// <summary>A DESIGN target next to what was measured; <see cref="Met"/> is null when the figure is missing.</summary>
internal sealed record TargetCheck(string Figure, string Target, string Measured, bool? Met);

/// <summary>The report of <c>bench</c> (report.json, snake_case).</summary>
internal sealed record BenchReport(ReportHeader Header) : Report(Header)
{
    /// <summary>(a) POST /tasks on the primary gateway at the given concurrency.</summary>
    public required double? GatewayTasksPerS { get; init; }

    public required int GatewayErrors { get; init; }

    public required LatencySummary GatewayLatencyMs { get; init; }

    /// <summary>(b) POST /internal/tasks straight on one worker, same concurrency.</summary>
    public required double? DirectWorkerTasksPerS { get; init; }

    public required int DirectWorkerErrors { get; init; }

    public required LatencySummary DirectWorkerLatencyMs { get; init; }

    public required double? GatewayVsDirectRatio { get; init; }

    /// <summary>Submissions at a fixed rate through the client (DESIGN's latency target is at 200/s).</summary>
    public required double PacedRatePerS { get; init; }

    public required double? PacedAchievedPerS { get; init; }

    public required int PacedErrors { get; init; }

    public required LatencySummary PacedLatencyMs { get; init; }

    /// <summary>(c) Hangfire's own enqueue on the same database, a no-op job on a queue nobody serves.</summary>
    public required double? RawHangfireEnqueuePerS { get; init; }

    public required int RawHangfireErrors { get; init; }

    /// <summary>(d) N tasks submitted as fast as the concurrency allows, until every one Succeeded.</summary>
    public required int EndToEndTasks { get; init; }

    public required int EndToEndSucceeded { get; init; }

    public required double? EndToEndTasksPerS { get; init; }

    /// <summary>Submit -> the task's finishedAt, per task.</summary>
    public required LatencySummary EndToEndLatencyMs { get; init; }

    /// <summary>pg_stat_statements calls over the end-to-end phase / tasks (every node's statements, background work included).</summary>
    public required double? StatementsPerTask { get; init; }

    /// <summary>pg_stat_database.xact_commit over the end-to-end phase / tasks.</summary>
    public required double? CommitsPerTask { get; init; }

    /// <summary><see cref="StatementsPerTask"/> less the idle cluster's background rate over the phase.</summary>
    public required double? NetStatementsPerTask { get; init; }

    /// <summary><see cref="CommitsPerTask"/> less the idle cluster's background rate over the phase.</summary>
    public required double? NetCommitsPerTask { get; init; }

    public required double? BackgroundStatementsPerS { get; init; }

    public required double? BackgroundCommitsPerS { get; init; }

    /// <summary>Why the database figures are missing, when they are.</summary>
    public required string? DatabaseStatsUnavailable { get; init; }

    /// <summary>Requests of the timed phases that failed, by error.</summary>
    public required IReadOnlyDictionary<string, int> ErrorsByReason { get; init; }

    /// <summary>Attempts of the paced phase's client that failed (and were retried), by reason.</summary>
    public required IReadOnlyDictionary<string, int> FailedAttempts { get; init; }

    public required IReadOnlyList<TargetCheck> Targets { get; init; }

    public required IReadOnlyList<string> Notes { get; init; }
}
