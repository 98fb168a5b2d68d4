using System.Text.Json;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Tests;

public sealed class RepeatedDrillTests
{
    private static readonly ReportHeader Header = new("kill-primary", "PostgreSql", "taskserver-drill kill-primary --repeat 3", DateTimeOffset.UnixEpoch, 90, new MachineInfo(2, "Linux", "cpu", ".NET 10", "host"), new Dictionary<string, string>());

    [Fact]
    public void Distribution_is_min_nearest_rank_percentiles_and_max_over_the_values_present()
    {
        var distribution = Distribution.Of([300, null, 100, 200, double.NaN]);

        Assert.Equal(new Distribution(100, 200, 300, 300, 300, 3), distribution);
        Assert.Equal(new Distribution(null, null, null, null, null, 0), Distribution.Of([]));
    }

    [Fact]
    public void A_suspicion_before_the_strike_is_a_false_suspicion_and_stays_out_of_the_TTD_distribution()
    {
        var report = RepeatedDrillReport.Of(Header, [("run-01", Run(ttd: 700, ttr: 900, lost: 0, duplicates: 1)), ("run-02", Run(ttd: -150, ttr: 1100, lost: 0, duplicates: 0)), ("run-03", Run(ttd: 800, ttr: 1300, lost: 2, duplicates: 3))]);

        Assert.Equal(1, report.FalseSuspicions);
        Assert.Equal(new Distribution(700, 700, 800, 800, 800, 2), report.TtdMs);
        Assert.Equal(new Distribution(900, 1100, 1300, 1300, 1300, 3), report.TtrMs);
        Assert.Equal(2, report.LostTotal);
        Assert.Equal(4, report.DuplicatesTotal);
        Assert.Equal([false, true, false], report.Runs.Select(r => r.FalseSuspicion));
        Assert.False(report.Passed);
    }

    [Fact]
    public void Passes_only_when_every_run_passed_and_nothing_was_suspected_early()
    {
        Assert.True(RepeatedDrillReport.Of(Header, [("run-01", Run(700, 900, 0, 0)), ("run-02", Run(650, 950, 0, 0))]).Passed);
        Assert.False(RepeatedDrillReport.Of(Header, [("run-01", Run(700, 900, 0, 0)), ("run-02", Run(-1, 950, 0, 0))]).Passed);
        Assert.False(RepeatedDrillReport.Of(Header, []).Passed);
    }

    [Fact]
    public void Report_json_has_the_distributions_the_totals_and_each_runs_timeline()
    {
        var report = RepeatedDrillReport.Of(Header, [("run-01", Run(700, 900, 0, 0))]);

        using var json = JsonDocument.Parse(ReportWriter.ToJson(report));
        var root = json.RootElement;

        foreach (var field in new[] { "min", "p50", "p95", "p99", "max" })
        {
            Assert.True(root.GetProperty("ttd_ms").TryGetProperty(field, out _), $"ttd_ms lacks {field}");
            Assert.True(root.GetProperty("ttr_ms").TryGetProperty(field, out _), $"ttr_ms lacks {field}");
        }

        Assert.Equal(0, root.GetProperty("false_suspicions").GetInt32());
        Assert.Equal(0, root.GetProperty("lost_total").GetInt32());
        Assert.Equal(0, root.GetProperty("duplicates_total").GetInt32());
        var run = root.GetProperty("runs")[0];
        Assert.Equal(2, run.GetProperty("timeline").GetProperty("acknowledged_per_second").GetArrayLength());
        Assert.Equal("SIGKILL", run.GetProperty("markers")[0].GetProperty("label").GetString());
        Assert.Contains("| [1](run-01/report.md) | alpha | PASS | 700 | 900 |", ReportWriter.Markdown(report), StringComparison.Ordinal);
    }

    private static GatewayRunRecord Run(double ttd, double ttr, int lost, int duplicates)
    {
        var report = DrillReport.Of(Header, Figures(lost, duplicates), new Load.AckRecorder(new Load.RunClock(TimeProvider.System), ca: null), new DrillTarget("SIGKILL", "alpha", "alpha-1", 1, "http://127.0.0.1:5080/"), [new Invariant("no acknowledged task lost", lost == 0, "")], []) with
        {
            TtdMs = ttd,
            TtrMs = ttr,
        };
        return new GatewayRunRecord(report, new Timeline([0, 0.5], [10, 0], [0, 2], [5, double.NaN], [9, double.NaN]), [new Marker(400, "SIGKILL")], "alpha");
    }

    private static RunFigures Figures(int lost, int duplicates) =>
        new(10, 10, 0, 10 - lost, 0, 0, lost, [], duplicates, 0, 0, 0, null, null, null, LatencySummary.Of([]));
}
