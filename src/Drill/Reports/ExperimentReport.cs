using TaskServer.Drill.Analysis;

namespace TaskServer.Drill.Reports;

/// <summary>One repetition of a phase: when it struck and when the cluster detected and recovered (ms since the repetition's start), and its load.</summary>
/// <param name="TtdMs">Strike -> the cluster's own detection (null: not detected, or the cluster does not report it).</param>
/// <param name="TtrMs">Strike -> service as before (<see cref="Recovery"/>); null when it did not come back within the window.</param>
internal sealed record Repetition(
    int Number,
    string? StruckNode,
    double? StrikeMs,
    double? TtdMs,
    double? TtrMs,
    LoadTestResult LoadTestResult,
    int Submitted,
    int Acknowledged,
    int Succeeded,
    int IncorrectResults,
    int Lost,
    int Duplicates,
    int RepeatedSideEffects,
    Timeline Timeline,
    IReadOnlyList<Marker> Markers,
    IReadOnlyList<string> Notes);

/// <summary>A phase over its repetitions: TTD and TTR as distributions, the load over every repetition together.</summary>
/// <param name="Detection">What counts as the cluster's detection of this fault.</param>
internal sealed record PhaseResult(
    string Phase,
    string Fault,
    string Detection,
    Distribution TtdMs,
    Distribution TtrMs,
    LoadTestResult LoadTestResult,
    int Lost,
    int Duplicates,
    int RepeatedSideEffects,
    int IncorrectResults,
    IReadOnlyList<Repetition> Repetitions,
    IReadOnlyList<string> Notes);

/// <summary>Across the phases: mean TTD and TTR over every repetition that has one, the worst p95 and success rate, and what was lost or repeated.</summary>
internal sealed record ExperimentSummary(
    double? AvgTtdMs,
    double? AvgTtrMs,
    double? MaxP95Ms,
    double? MinSuccessRate,
    int LostTotal,
    int RepeatedSideEffectsTotal,
    int Phases,
    int Repetitions);

/// <summary>The report of <c>experiment</c> (report.json, snake_case; report.md and report.html render it).</summary>
internal sealed record ExperimentReport(ReportHeader ExperimentInfo, IReadOnlyList<PhaseResult> Results, ExperimentSummary Summary)
{
    public static ExperimentReport Of(ReportHeader info, IReadOnlyList<PhaseResult> results) => new(info, results, Summarise(results));

    /// <summary>A phase from its repetitions; the load figures pool every repetition's submissions.</summary>
    public static PhaseResult Phase(string phase, string fault, string detection, IReadOnlyList<Repetition> reps, LoadTestResult pooled, IReadOnlyList<string> notes) =>
        new(
            phase,
            fault,
            detection,
            Distribution.Of(reps.Select(r => r.TtdMs)),
            Distribution.Of(reps.Select(r => r.TtrMs)),
            pooled,
            reps.Sum(r => r.Lost),
            reps.Sum(r => r.Duplicates),
            reps.Sum(r => r.RepeatedSideEffects),
            reps.Sum(r => r.IncorrectResults),
            reps,
            notes);

    private static ExperimentSummary Summarise(IReadOnlyList<PhaseResult> results)
    {
        var reps = results.SelectMany(r => r.Repetitions).ToList();
        var ttds = reps.Select(r => r.TtdMs).OfType<double>().ToList();
        var ttrs = reps.Select(r => r.TtrMs).OfType<double>().ToList();
        var p95s = results.Select(r => r.LoadTestResult.P95LatencyMs).OfType<double>().ToList();
        var rates = results.Select(r => r.LoadTestResult.SuccessRate).OfType<double>().ToList();
        return new ExperimentSummary(
            ttds.Count == 0 ? null : Math.Round(ttds.Average(), 1),
            ttrs.Count == 0 ? null : Math.Round(ttrs.Average(), 1),
            p95s.Count == 0 ? null : p95s.Max(),
            rates.Count == 0 ? null : rates.Min(),
            results.Sum(r => r.Lost),
            results.Sum(r => r.RepeatedSideEffects),
            results.Count,
            reps.Count);
    }
}
