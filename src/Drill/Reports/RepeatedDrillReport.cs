using TaskServer.Drill.Analysis;

namespace TaskServer.Drill.Reports;

/// <summary>One run of a repeated drill as the aggregate lists it; its full report is in <see cref="Directory"/>.</summary>
/// <param name="FalseSuspicion">The backup suspected the primary before the strike (its failover record's suspected_at precedes it).</param>
internal sealed record RepeatedRun(
    int Run,
    string Directory,
    string StruckNode,
    bool Passed,
    double? TtdMs,
    double? TtrMs,
    double? UnavailableMs,
    bool FalseSuspicion,
    int Acknowledged,
    int Lost,
    int Duplicates,
    Timeline Timeline,
    IReadOnlyList<Marker> Markers);

/// <summary>kill-primary --repeat N: every run, and TTD / TTR over the runs (report.json, snake_case).</summary>
internal sealed record RepeatedDrillReport(ReportHeader Header) : Report(Header)
{
    public required IReadOnlyList<RepeatedRun> Runs { get; init; }

    /// <summary>Strike -> suspected, over the runs whose suspicion came after the strike (the others are <see cref="FalseSuspicions"/>).</summary>
    public required Distribution TtdMs { get; init; }

    /// <summary>Strike -> first task accepted by the new primary.</summary>
    public required Distribution TtrMs { get; init; }

    public required Distribution UnavailableMs { get; init; }

    /// <summary>Runs in which the backup suspected the live primary before it was struck.</summary>
    public required int FalseSuspicions { get; init; }

    public required int LostTotal { get; init; }

    public required int DuplicatesTotal { get; init; }

    public required int PassedRuns { get; init; }

    /// <summary>Every run passed its invariants and no live primary was suspected.</summary>
    public required bool Passed { get; init; }

    /// <param name="runs">Each run's report with its timeline and moments, and where its files are (relative to the aggregate's).</param>
    public static RepeatedDrillReport Of(ReportHeader header, IReadOnlyList<(string Directory, GatewayRunRecord Run)> runs)
    {
        var rows = runs.Select((r, i) => new RepeatedRun(
            i + 1,
            r.Directory,
            r.Run.StruckNode,
            r.Run.Report.Passed,
            r.Run.Report.TtdMs,
            r.Run.Report.TtrMs,
            r.Run.Report.UnavailableMs,
            r.Run.Report.TtdMs < 0,
            r.Run.Report.Acknowledged,
            r.Run.Report.Lost,
            r.Run.Report.Duplicates,
            r.Run.Timeline,
            r.Run.Markers)).ToList();
        var falseSuspicions = rows.Count(r => r.FalseSuspicion);
        return new RepeatedDrillReport(header)
        {
            Runs = rows,
            TtdMs = Distribution.Of(rows.Where(r => !r.FalseSuspicion).Select(r => r.TtdMs)),
            TtrMs = Distribution.Of(rows.Select(r => r.TtrMs)),
            UnavailableMs = Distribution.Of(rows.Select(r => r.UnavailableMs)),
            FalseSuspicions = falseSuspicions,
            LostTotal = rows.Sum(r => r.Lost),
            DuplicatesTotal = rows.Sum(r => r.Duplicates),
            PassedRuns = rows.Count(r => r.Passed),
            Passed = rows.Count > 0 && rows.All(r => r.Passed) && falseSuspicions == 0,
        };
    }
}

/// <summary>What the aggregate needs of one gateway drill: its report, timeline, moments and the node it struck.</summary>
internal sealed record GatewayRunRecord(DrillReport Report, Timeline Timeline, IReadOnlyList<Marker> Markers, string StruckNode);
