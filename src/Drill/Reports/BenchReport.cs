using System.Text.Json.Serialization;
using TaskServer.Drill.Analysis;

namespace TaskServer.Drill.Reports;

/// <summary>A DESIGN target next to what was measured; <see cref="Met"/> is null when the figure is missing.</summary>
internal sealed record TargetCheck(string Figure, string Target, string Measured, bool? Met);

/// <summary>
/// The report of <c>bench</c> (report.json, snake_case). With <c>--runs N</c> the figures are the median of the
/// runs (nearest rank: a value one run measured), and <see cref="Runs"/> holds each run's report.
/// </summary>
internal sealed record BenchReport(ReportHeader Header) : Report(Header)
{
    /// <summary>(a) POST /tasks on the primary gateway at the given concurrency.</summary>
    public required double? GatewayTasksPerS { get; init; }

    public required int GatewayErrors { get; init; }

    public required LatencySummary GatewayLatencyMs { get; init; }

    /// <summary>(b) POST /internal/tasks straight on the workers the gateway routes to, round-robin, same concurrency.</summary>
    public required double? DirectWorkerTasksPerS { get; init; }

    public required int DirectWorkerErrors { get; init; }

    public required LatencySummary DirectWorkerLatencyMs { get; init; }

    public required double? GatewayVsDirectRatio { get; init; }

    /// <summary>The intake URLs of (b) and of the paced direct phase: the workers the primary's balancer routed to.</summary>
    public required IReadOnlyList<string> DirectWorkers { get; init; }

    /// <summary>Submissions at a fixed rate, POST /tasks on the primary (DESIGN's latency target is at 200/s).</summary>
    public required double PacedRatePerS { get; init; }

    public required double? PacedAchievedPerS { get; init; }

    public required int PacedErrors { get; init; }

    /// <summary>The same as <see cref="PacedGatewayLatencyMs"/>; the name older reports used.</summary>
    public required LatencySummary PacedLatencyMs { get; init; }

    /// <summary>Submit -> 202 at the paced rate through the primary gateway.</summary>
    public required LatencySummary PacedGatewayLatencyMs { get; init; }

    /// <summary>Submit -> 202 at the same rate straight to the workers' intake, round-robin: what the gateway hop adds is the difference.</summary>
    public required LatencySummary PacedDirectLatencyMs { get; init; }

    public required int PacedDirectErrors { get; init; }

    /// <summary>The idle phase's length: nothing submitted, the cluster doing only its background work.</summary>
    public required double IdleS { get; init; }

    /// <summary>CPU of every node process and PostgreSQL over the idle phase, percent of all the machine's cores (/proc utime + stime).</summary>
    public required double? IdleCpuPercent { get; init; }

    /// <summary><see cref="IdleCpuPercent"/> by role: gateway (the nodes that run one), worker, database.</summary>
    public required IReadOnlyDictionary<string, double> IdleCpuPercentByRole { get; init; }

    /// <summary>pg_stat_statements calls per second over the idle phase.</summary>
    public required double? IdleStatementsPerS { get; init; }

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

    /// <summary>pg_stat_database.xact_commit over the end-to-end phase / tasks, read <see cref="StatsReadAfterS"/> after the last task ended.</summary>
    public required double? CommitsPerTask { get; init; }

    /// <summary>Transaction ids assigned over the end-to-end phase / tasks: the transactions that wrote, counted at once (no flush to wait for).</summary>
    public required double? WriteTransactionsPerTask { get; init; }

    /// <summary>How long after the end-to-end phase's last task the database counters were read (PostgreSQL publishes commits late).</summary>
    public required double StatsReadAfterS { get; init; }

    /// <summary>CPU time per task of the end-to-end phase, by role (gateway, worker, database), from /proc utime + stime.</summary>
    public required IReadOnlyDictionary<string, double> CpuMsPerTask { get; init; }

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

    /// <summary>The median of the runs' figures (<see cref="JsonMedian"/>) under <paramref name="header"/>, with the runs themselves; targets and notes are the caller's.</summary>
    public static BenchReport MedianOf(ReportHeader header, IReadOnlyList<BenchReport> runs)
    {
        var median = JsonMedian.Of([.. runs.Select(r => ReportWriter.ToJsonNode(r with { Runs = null }))])!;
        return ReportWriter.FromJsonNode<BenchReport>(median) with { Header = header, Runs = runs };
    }

    /// <summary>Each run's report, when there was more than one; the figures above are then their medians.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<BenchReport>? Runs { get; init; }
}
