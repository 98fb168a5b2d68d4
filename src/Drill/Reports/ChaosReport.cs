using TaskServer.Drill.Analysis;
using TaskServer.Drill.Chaos;

namespace TaskServer.Drill.Reports;

/// <summary>The report of <c>chaos</c> (report.json, snake_case; report.md and report.html render it). Times are seconds since the load started.</summary>
internal sealed record ChaosReport(ReportHeader Header) : Report(Header)
{
    public required int Seed { get; init; }

    /// <summary>The schedule the seed gave (kind, target, start, end, value) and how each fault went.</summary>
    public required IReadOnlyList<ChaosFault> Faults { get; init; }

    public required int Submitted { get; init; }

    /// <summary>Submissions answered 202 or 200 (an idempotent replay), crash tasks included: what the checker owes an account of.</summary>
    public required int Acknowledged { get; init; }

    /// <summary>Acknowledged tasks by the load's kind (echo, hash, callback, sleep, hang, crash).</summary>
    public required IReadOnlyDictionary<string, int> AcknowledgedByKind { get; init; }

    /// <summary>Submissions the client gave up on; never acknowledged, so never owed.</summary>
    public required int SubmitErrors { get; init; }

    /// <summary>Final states as last read, by status.</summary>
    public required IReadOnlyDictionary<string, int> FinalStatuses { get; init; }

    public required int Lost { get; init; }

    public required int AttemptsOverMax { get; init; }

    public required int StaleSideEffects { get; init; }

    public required int BackwardsStatuses { get; init; }

    public required int WrongResults { get; init; }

    /// <summary>True when every count is zero.</summary>
    public required bool Passed { get; init; }

    /// <summary>From the end of the recovery to every acknowledged task final; null when some were not within the check's wait.</summary>
    public required double? SettledAfterS { get; init; }

    /// <summary>Submission attempts that failed and were retried (or given up on), by reason.</summary>
    public required IReadOnlyDictionary<string, int> FailedAttempts { get; init; }

    public required int IdempotentReplays { get; init; }

    /// <summary>The tasks found wrong, at most <see cref="ViolationsListedPerKind"/> of each kind (the counts are complete).</summary>
    public required IReadOnlyList<Violation> Violations { get; init; }

    public required int ViolationsListedPerKind { get; init; }

    /// <summary>Strikes, undos, restarts and faults that could not run, as they happened.</summary>
    public required IReadOnlyList<ChaosEvent> Events { get; init; }

    public required Timeline Timeline { get; init; }

    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>The checker's counts by their report.json names, in the order every rendering lists them.</summary>
    public IReadOnlyList<(string Name, int Value)> Counts() =>
    [
        ("lost", Lost),
        ("attempts_over_max", AttemptsOverMax),
        ("stale_side_effects", StaleSideEffects),
        ("backwards_statuses", BackwardsStatuses),
        ("wrong_results", WrongResults),
    ];
}
