using System.Text.Json;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Tests;

public sealed class ReportWriterTests
{
    private static readonly MachineInfo Machine = new(2, "Debian GNU/Linux 12", "test CPU", ".NET 10", "test");

    [Fact]
    public void Drill_json_has_every_required_field_in_snake_case()
    {
        using var json = JsonDocument.Parse(ReportWriter.ToJson(Drill(passed: true)));
        var root = json.RootElement;

        foreach (var field in new[]
        {
            "scenario", "storage", "promoted", "submitted", "acknowledged", "succeeded", "failed", "lost", "duplicates", "requeued",
            "ttd_ms", "ttr_ms", "unavailable_ms", "throughput_per_s", "latency_ms", "invariants", "passed", "command", "machine",
        })
        {
            Assert.True(root.TryGetProperty(field, out _), $"report.json lacks '{field}'");
        }

        foreach (var percentile in new[] { "p50", "p95", "p99" })
        {
            Assert.True(root.GetProperty("latency_ms").TryGetProperty(percentile, out _), $"latency_ms lacks '{percentile}'");
        }

        Assert.Equal("kill-primary", root.GetProperty("scenario").GetString());
        Assert.Equal("scenario", root.EnumerateObject().First().Name);
        Assert.False(root.TryGetProperty("header", out _), "the header's fields lead report.json, not a nested object");
        Assert.Equal(JsonValueKind.Null, root.GetProperty("orphans_requeued_ms").ValueKind);
        Assert.Equal(2, root.GetProperty("machine").GetProperty("cores").GetInt32());
        Assert.Equal("FirstAlphabetical", root.GetProperty("settings").GetProperty("policy").GetString());
    }

    [Fact]
    public void Bench_json_has_every_required_field_in_snake_case()
    {
        using var json = JsonDocument.Parse(ReportWriter.ToJson(Bench()));
        var root = json.RootElement;

        foreach (var field in new[]
        {
            "scenario", "gateway_tasks_per_s", "direct_worker_tasks_per_s", "raw_hangfire_enqueue_per_s", "end_to_end_tasks_per_s",
            "gateway_latency_ms", "end_to_end_latency_ms", "gateway_vs_direct_ratio", "statements_per_task", "commits_per_task", "targets",
            "paced_latency_ms", "paced_gateway_latency_ms", "paced_direct_latency_ms", "idle_cpu_percent", "idle_statements_per_s", "cpu_ms_per_task",
            "write_transactions_per_task", "direct_workers",
        })
        {
            Assert.True(root.TryGetProperty(field, out _), $"report.json lacks '{field}'");
        }

        Assert.Equal("bench", root.GetProperty("scenario").GetString());
        Assert.Equal(99, root.GetProperty("end_to_end_latency_ms").GetProperty("p99").GetDouble());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("statements_per_task").ValueKind);
        Assert.Equal(1.2, root.GetProperty("cpu_ms_per_task").GetProperty("worker").GetDouble());
        Assert.False(root.TryGetProperty("runs", out _), "a single run has no runs");
    }

    [Fact]
    public void Drill_markdown_states_each_invariant_and_the_command()
    {
        var markdown = ReportWriter.Markdown(Drill(passed: false));

        Assert.Contains("**Result: FAIL**", markdown, StringComparison.Ordinal);
        Assert.Contains("| no acknowledged task lost | FAIL | 2 of 10 not final |", markdown, StringComparison.Ordinal);
        Assert.Contains("| promoted | PASS |", markdown, StringComparison.Ordinal);
        Assert.Contains("`taskserver-drill kill-primary --rate 50`", markdown, StringComparison.Ordinal);
        Assert.Contains("2 cores", markdown, StringComparison.Ordinal);
        Assert.Contains("| TTR, strike -> first task accepted by the new primary (ms) | 812.5 |", markdown, StringComparison.Ordinal);
        Assert.Contains("![timeline](timeline.png)", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_markdown_states_each_figure_against_its_target()
    {
        var markdown = ReportWriter.Markdown(Bench());

        Assert.Contains("| end-to-end throughput (submit -> Succeeded) | >= 1000 tasks/s | 80 tasks/s | no |", markdown, StringComparison.Ordinal);
        Assert.Contains("statements_per_task", ReportWriter.ToJson(Bench()), StringComparison.Ordinal);
        Assert.Contains("pg_stat_statements is not preloaded", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writes_the_three_files()
    {
        var directory = Path.Combine(Path.GetTempPath(), "drill-report-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            List<Submission> run = [new(0, "callback", 0, 120, Guid.NewGuid(), "http://127.0.0.1:5080", null), new(1, "callback", 900, 2500, Guid.NewGuid(), "http://127.0.0.1:5081", null)];
            var report = Drill(passed: true);

            await ReportWriter.WriteAsync(
                directory, report, ReportWriter.Markdown(report), Timeline.Build(run, [1000, 1100], 500), "test", [new Marker(1000, "SIGKILL"), new Marker(1800, "promoted")], TestContext.Current.CancellationToken);

            Assert.True(File.Exists(Path.Combine(directory, "report.json")));
            Assert.True(File.Exists(Path.Combine(directory, "report.md")));
            var png = await File.ReadAllBytesAsync(Path.Combine(directory, "timeline.png"), TestContext.Current.CancellationToken);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);

            // IHDR: width and height, big-endian, at bytes 16-23.
            Assert.Equal(1200, (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19]);
            Assert.Equal(600, (png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23]);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static DrillReport Drill(bool passed) => new(new ReportHeader("kill-primary", "PostgreSql", "taskserver-drill kill-primary --rate 50", DateTimeOffset.UnixEpoch, 20, Machine, new Dictionary<string, string> { ["policy"] = "FirstAlphabetical" }))
    {
        Promoted = true,
        Submitted = 10,
        Acknowledged = 10,
        SubmitErrors = 0,
        Succeeded = passed ? 10 : 8,
        Failed = 0,
        Cancelled = 0,
        Lost = passed ? 0 : 2,
        LostIds = passed ? [] : [Guid.Empty],
        Duplicates = 1,
        RepeatedAttempts = 0,
        MissingSideEffects = 0,
        Requeued = 1,
        IdempotentReplays = 3,
        FailedAttempts = new Dictionary<string, int> { ["ConnectionError"] = 4, ["503"] = 2 },
        TtdMs = 700,
        TtdProbeMs = 750,
        PromotedAfterMs = 800,
        PromotionObservedMs = 790,
        TtrMs = 812.5,
        UnavailableMs = 900,
        OrphansRequeuedMs = null,
        ThroughputPerS = 49.5,
        LatencyMs = LatencySummary.Of([10, 20, 30]),
        Target = new DrillTarget("SIGKILL", "alpha", "alpha-1a2b3c", 1234, "http://127.0.0.1:5080/"),
        Failover = new FailoverRecord(1, 2, "alpha-1a2b3c", "beta-4d5e6f", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, [new EpochHolder(1, "alpha-1a2b3c"), new EpochHolder(2, "beta-4d5e6f")]),
        Invariants =
        [
            new Invariant("promoted", true, "beta-4d5e6f holds epoch 2"),
            new Invariant("no acknowledged task lost", passed, passed ? "0 of 10 not final" : "2 of 10 not final"),
        ],
        Passed = passed,
        Notes = [],
    };

    internal static BenchReport Bench() => new(new ReportHeader("bench", "PostgreSql", "taskserver-drill bench --duration 10s", DateTimeOffset.UnixEpoch, 60, Machine, new Dictionary<string, string> { ["concurrency"] = "16" }))
    {
        GatewayTasksPerS = 180,
        GatewayErrors = 0,
        GatewayLatencyMs = LatencySummary.Of([5, 10, 90]),
        DirectWorkerTasksPerS = 200,
        DirectWorkerErrors = 0,
        DirectWorkerLatencyMs = LatencySummary.Of([4, 8, 80]),
        GatewayVsDirectRatio = 0.9,
        DirectWorkers = ["http://127.0.0.1:5080/", "http://127.0.0.1:5090/"],
        PacedRatePerS = 200,
        PacedAchievedPerS = 199,
        PacedErrors = 0,
        PacedLatencyMs = LatencySummary.Of([3, 6, 60]),
        PacedGatewayLatencyMs = LatencySummary.Of([3, 6, 60]),
        PacedDirectLatencyMs = LatencySummary.Of([2, 4, 50]),
        PacedDirectErrors = 0,
        IdleS = 30,
        IdleCpuPercent = 2.5,
        IdleCpuPercentByRole = new Dictionary<string, double> { ["gateway"] = 1, ["worker"] = 1, ["database"] = 0.5 },
        IdleStatementsPerS = 12,
        RawHangfireEnqueuePerS = 900,
        RawHangfireErrors = 0,
        EndToEndTasks = 1000,
        EndToEndSucceeded = 1000,
        EndToEndTasksPerS = 80,
        EndToEndLatencyMs = LatencySummary.Of(Enumerable.Range(1, 100).Select(i => (double)i)),
        StatementsPerTask = null,
        CommitsPerTask = 25,
        WriteTransactionsPerTask = 20,
        StatsReadAfterS = 11,
        CpuMsPerTask = new Dictionary<string, double> { ["gateway"] = 0.4, ["worker"] = 1.2, ["database"] = 0.9 },
        NetStatementsPerTask = null,
        NetCommitsPerTask = 20,
        BackgroundStatementsPerS = null,
        BackgroundCommitsPerS = 30,
        DatabaseStatsUnavailable = "pg_stat_statements is not preloaded",
        ErrorsByReason = new Dictionary<string, int>(),
        FailedAttempts = new Dictionary<string, int>(),
        Targets = [new TargetCheck("end-to-end throughput (submit -> Succeeded)", ">= 1000 tasks/s", "80 tasks/s", false)],
        Notes = [],
    };
}
