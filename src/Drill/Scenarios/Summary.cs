using Spectre.Console;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Scenarios;

/// <summary>The end of a run on the console: the key figures, the verdict, where the files are.</summary>
internal static class Summary
{
    public static void Print(DrillContext context, DrillReport report)
    {
        var table = new Table().Title($"{report.Scenario} ({report.Storage})").AddColumns("figure", "value");
        Add(table, "promoted", report.Promoted is { } promoted ? (promoted ? "yes" : "no") : "n/a");
        Add(table, "submitted / acknowledged / errors", $"{report.Submitted} / {report.Acknowledged} / {report.SubmitErrors}");
        Add(table, "succeeded / failed / lost", $"{report.Succeeded} / {report.Failed} / {report.Lost}");
        Add(table, "duplicates / requeued", $"{report.Duplicates} / {report.Requeued}");
        Add(table, "TTD ms (strike / backup's probe)", $"{ReportWriter.Format(report.TtdMs)} / {ReportWriter.Format(report.TtdProbeMs)}");
        Add(table, "TTR ms", ReportWriter.Format(report.TtrMs));
        Add(table, "unavailable ms", ReportWriter.Format(report.UnavailableMs));
        Add(table, "orphans requeued ms", ReportWriter.Format(report.OrphansRequeuedMs));
        Add(table, "throughput /s", ReportWriter.Format(report.ThroughputPerS));
        Add(table, "latency ms p50 / p95 / p99", ReportWriter.Latency(report.LatencyMs));
        foreach (var invariant in report.Invariants)
        {
            table.AddRow(Markup.Escape(invariant.Name), invariant.Passed ? "[green]PASS[/]" : $"[red]FAIL[/] {Markup.Escape(invariant.Detail)}");
        }

        context.Console.Write(table);
        Verdict(context, report.Passed ? "[green]PASS[/]" : "[red]FAIL[/]");
    }

    public static void Print(DrillContext context, RepeatedDrillReport report)
    {
        var table = new Table().Title($"{report.Scenario} x{report.Runs.Count} ({report.Storage})").AddColumns("figure", "min / p50 / p95 / p99 / max");
        Add(table, "TTD ms", Spread(report.TtdMs));
        Add(table, "TTR ms", Spread(report.TtrMs));
        Add(table, "longest gap ms", Spread(report.UnavailableMs));
        Add(table, "runs passed / false suspicions", $"{report.PassedRuns} of {report.Runs.Count} / {report.FalseSuspicions}");
        Add(table, "lost / duplicates (total)", $"{report.LostTotal} / {report.DuplicatesTotal}");
        context.Console.Write(table);
        Verdict(context, report.Passed ? "[green]PASS[/]" : "[red]FAIL[/]", "report.json, report.md; each run's under run-NN/");
    }

    public static string Spread(Analysis.Distribution d) =>
        $"{ReportWriter.Format(d.Min)} / {ReportWriter.Format(d.P50)} / {ReportWriter.Format(d.P95)} / {ReportWriter.Format(d.P99)} / {ReportWriter.Format(d.Max)}";

    public static void Print(DrillContext context, BenchReport report)
    {
        var table = new Table().Title($"bench ({report.Storage})").AddColumns("figure", "target", "measured", "met");
        foreach (var target in report.Targets)
        {
            table.AddRow(
                Markup.Escape(target.Figure),
                Markup.Escape(target.Target),
                Markup.Escape(target.Measured),
                target.Met switch { true => "[green]yes[/]", false => "[red]no[/]", null => "n/a" });
        }

        context.Console.Write(table);
        Verdict(context, "[green]completed[/]", report.Runs is null ? "report.json, report.md, timeline.png" : "report.json, report.md; each run's under run-NN/");
    }

    private static void Add(Table table, string figure, string value) => table.AddRow(Markup.Escape(figure), Markup.Escape(value));

    private static void Verdict(DrillContext context, string verdict, string files = "report.json, report.md, timeline.png") =>
        context.Console.MarkupLine($"{verdict}: report in [blue]{Markup.Escape(context.ReportDirectory)}[/] ({Markup.Escape(files)})");
}
