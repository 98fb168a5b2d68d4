using System.Text.Json;
using System.Text.Json.Nodes;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Bench;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Tests;

public sealed class BenchAnalysisTests
{
    [Fact]
    public void Cpu_is_percent_of_all_cores_and_ms_per_task_by_role()
    {
        // 10 s on 2 cores: 20,000 ms of CPU available.
        var before = new CpuSample(0, new Dictionary<string, double> { ["gateway"] = 1_000, ["worker"] = 500, ["database"] = 2_000 });
        var after = new CpuSample(10_000, new Dictionary<string, double> { ["gateway"] = 1_200, ["worker"] = 600, ["database"] = 2_100 });

        var usage = CpuUsage.Between(before, after, cores: 2);

        Assert.Equal(2, usage.TotalPercent);
        Assert.Equal(1, usage.PercentByRole["gateway"]);
        Assert.Equal(0.5, usage.PercentByRole["worker"]);
        Assert.Equal(0.5, usage.PercentByRole["database"]);
        Assert.Equal(2, usage.PerTask(100)["gateway"]);
        Assert.Equal(1, usage.PerTask(100)["database"]);
        Assert.Empty(usage.PerTask(0));
    }

    [Fact]
    public void A_role_whose_processes_restarted_never_counts_negative_time()
    {
        var usage = CpuUsage.Between(new CpuSample(0, new Dictionary<string, double> { ["worker"] = 5_000 }), new CpuSample(1_000, new Dictionary<string, double> { ["worker"] = 100 }), cores: 1);

        Assert.Equal(0, usage.MsByRole["worker"]);
    }

    [Fact]
    public void Json_median_takes_the_lower_middle_number_field_by_field_and_the_first_runs_text()
    {
        var median = JsonMedian.Of(
        [
            JsonNode.Parse("""{"rate": 100, "latency": {"p99": 30}, "name": "a", "missing": null, "list": [1]}"""),
            JsonNode.Parse("""{"rate": 300, "latency": {"p99": 10}, "name": "b", "missing": 4, "list": [2]}"""),
            JsonNode.Parse("""{"rate": 200, "latency": {"p99": 20}, "name": "c", "missing": null, "list": [3]}"""),
            JsonNode.Parse("""{"rate": 400, "latency": {"p99": 40}, "name": "d", "missing": null, "list": [4]}"""),
        ])!;

        Assert.Equal(200, median["rate"]!.GetValue<double>());
        Assert.Equal(20, median["latency"]!["p99"]!.GetValue<double>());
        Assert.Equal("a", median["name"]!.GetValue<string>());
        Assert.Equal(4, median["missing"]!.GetValue<double>());
        Assert.Equal("[1]", median["list"]!.ToJsonString());
    }

    [Fact]
    public void Bench_median_keeps_every_field_and_lists_the_runs()
    {
        var runs = new[] { 90.0, 120, 100 }.Select(rate => ReportWriterTests.Bench() with { EndToEndTasksPerS = rate, IdleCpuPercent = rate / 10 }).ToList();
        var header = runs[0].Header with { DurationS = 900 };

        var median = BenchReport.MedianOf(header, runs);

        Assert.Equal(100, median.EndToEndTasksPerS);
        Assert.Equal(10, median.IdleCpuPercent);
        Assert.Equal(900, median.DurationS);
        Assert.Equal(3, median.Runs!.Count);
        Assert.Equal(runs[0].PacedDirectLatencyMs, median.PacedDirectLatencyMs);
        using var json = JsonDocument.Parse(ReportWriter.ToJson(median));
        Assert.Equal(3, json.RootElement.GetProperty("runs").GetArrayLength());
        Assert.Equal(100, json.RootElement.GetProperty("end_to_end_tasks_per_s").GetDouble());
        Assert.False(json.RootElement.GetProperty("runs")[0].TryGetProperty("runs", out _));
        Assert.Contains("[2](run-02/report.md)", ReportWriter.Markdown(median with { Targets = BenchRun.Targets(median) }), StringComparison.Ordinal);
    }

    [Fact]
    public void Targets_hold_the_paced_gateway_to_the_direct_p99_plus_5_ms_and_the_idle_cluster_to_3_percent()
    {
        var report = ReportWriterTests.Bench() with
        {
            PacedGatewayLatencyMs = LatencySummary.Of([20, 30, 56]),
            PacedDirectLatencyMs = LatencySummary.Of([10, 20, 50]),
            IdleCpuPercent = 3.5,
            IdleStatementsPerS = 10,
        };

        var targets = BenchRun.Targets(report).ToDictionary(t => t.Figure.Split(' ')[0] + " " + t.Figure.Split(' ')[1], t => t.Met);

        Assert.False(targets["submit latency"]);
        Assert.False(targets["idle cluster"]);
        Assert.True(BenchRun.Targets(report with { PacedGatewayLatencyMs = LatencySummary.Of([55]), IdleCpuPercent = 2 }).Where(t => t.Figure.StartsWith("submit", StringComparison.Ordinal) || t.Figure == "idle cluster").All(t => t.Met == true));
    }

    [Fact]
    public void End_to_end_throughput_is_met_only_when_every_submitted_task_succeeded()
    {
        var fast = ReportWriterTests.Bench() with { EndToEndTasks = 20_000, EndToEndSucceeded = 20_000, EndToEndTasksPerS = 1100 };

        Assert.True(EndToEnd(fast));
        Assert.False(EndToEnd(fast with { EndToEndSucceeded = 15_469 }));
        Assert.False(EndToEnd(fast with { EndToEndTasksPerS = 999 }));

        static bool? EndToEnd(BenchReport report) => BenchRun.Targets(report).Single(t => t.Figure.StartsWith("end-to-end", StringComparison.Ordinal)).Met;
    }

    [Fact]
    public void The_direct_phases_go_to_every_worker_the_gateway_routes_to()
    {
        var view = new ClusterView(
            new SelfView("alpha-1", "Standalone", "http://127.0.0.1:5080", true),
            null,
            "RoundRobin",
            [
                new NodeView("alpha-1", "Standalone", "http://127.0.0.1:5080", true, 0, 0, 0, 16, "primary", true),
                new NodeView("beta-1", "Standalone", "http://127.0.0.1:5081", true, 0, 0, 0, 16, "backup", true),
                new NodeView("w1-1", "Worker", "http://127.0.0.1:5090", true, 0, 0, 0, 16, null, true),
                new NodeView("w2-1", "Worker", "http://127.0.0.1:5091", true, 0, 0, 0, 16, null, false),
            ],
            []);

        var workers = BenchRun.DirectWorkers(view, [new Uri("http://127.0.0.1:5090")]);

        Assert.Equal(["http://127.0.0.1:5080/", "http://127.0.0.1:5081/", "http://127.0.0.1:5090/"], workers.Select(w => w.ToString()));
        Assert.Equal([new Uri("http://127.0.0.1:5090")], BenchRun.DirectWorkers(view with { Nodes = [] }, [new Uri("http://127.0.0.1:5090")]));
    }
}
