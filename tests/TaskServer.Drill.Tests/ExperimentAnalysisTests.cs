using System.Text.Json;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Experiment;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Tests;

public sealed class ExperimentAnalysisTests
{
    [Fact]
    public void Recovery_is_the_first_window_after_the_strike_served_as_before()
    {
        // 50/s for 20 s; struck at 5 s; nothing acknowledged until 7 s, then the backlog and new
        // submissions are answered slowly until 8 s, promptly after.
        var (run, outcomes) = Steady(rate: 50, seconds: 20, respond: sent => sent switch
        {
            < 5_000 => sent + 10,
            < 7_000 => 7_000 + ((sent - 5_000) / 10),
            < 8_000 => sent + 400,
            _ => sent + 10,
        });

        var ttr = Recovery.TimeToRecover(run, outcomes, strikeMs: 5_000, new RecoveryCriteria());

        // The window from 7.95 s holds 2 slow submissions of 100: within the 2% a window may have.
        Assert.Equal(2_950, ttr);
        Assert.Equal(3_000, Recovery.TimeToRecover(run, outcomes, strikeMs: 5_000, new RecoveryCriteria(ServedShare: 1)));
    }

    [Fact]
    public void Service_that_never_suffered_recovers_at_once_and_service_that_never_returns_never_does()
    {
        var (healthy, healthyOutcomes) = Steady(50, 10, sent => sent + 10);
        var (broken, brokenOutcomes) = Steady(50, 10, sent => sent < 3_000 ? sent + 10 : null);

        Assert.Equal(0, Recovery.TimeToRecover(healthy, healthyOutcomes, 3_000, new RecoveryCriteria()));
        Assert.Null(Recovery.TimeToRecover(broken, brokenOutcomes, 3_000, new RecoveryCriteria()));
    }

    [Fact]
    public void Wrong_results_and_failed_submissions_keep_service_from_counting_as_recovered()
    {
        // After the strike every other task (a wrong hash) comes back incorrect until 6 s: the first window
        // with at most 2 wrong of its 100 starts at 5.9 s.
        var (run, outcomes) = Steady(50, 12, sent => sent + 10);
        foreach (var submission in run.Where(s => s.SentMs is >= 3_000 and < 6_000 && s.Index % 2 == 0))
        {
            outcomes[submission.TaskId!.Value] = outcomes[submission.TaskId!.Value] with { Correct = false };
        }

        Assert.Equal(2_900, Recovery.TimeToRecover(run, outcomes, 3_000, new RecoveryCriteria()));

        // A failed submission in the window is not service as before either: the last fails at 4.8 s.
        var failing = run.Select(s => s.SentMs is >= 3_000 and < 5_000 && s.Index % 10 == 0 ? s with { AckMs = null, TaskId = null, Error = "500" } : s).ToList();
        Assert.Equal(1_850, Recovery.TimeToRecover(failing, Outcomes(failing), 3_000, new RecoveryCriteria()));
    }

    [Fact]
    public void Load_result_counts_only_tasks_served_right_as_successes()
    {
        var (run, outcomes) = Steady(10, 2, sent => sent + 20);
        outcomes[run[0].TaskId!.Value] = new Outcome(100, Correct: false);
        var withError = run.Append(new Submission(99, "hash", 1_000, null, null, null, "500")).ToList();

        var result = LoadTestResult.Of(withError, outcomes, durationMs: 2_000);

        Assert.Equal(10, result.Rps);
        Assert.Equal(20, result.AvgLatencyMs);
        Assert.Equal(20, result.P99LatencyMs);
        Assert.Equal(Math.Round(19 / 21.0, 4), result.SuccessRate);
    }

    [Fact]
    public void Phases_run_in_the_experiments_order_and_unknown_ones_are_named()
    {
        Assert.Equal(9, Phase.Select([]).Count);
        Assert.Equal(["crash-primary", "latency"], Phase.Select(["latency", "crash-primary"]).Select(p => p.Name));
        Assert.Contains("nonsense", Assert.Throws<ArgumentException>(() => Phase.Select(["nonsense"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_drill_checks_hash_results_as_the_handler_computes_them()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ExpectedResults.Hash("abc", 1));
        Assert.Equal("4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358", ExpectedResults.Hash("abc", 2));
    }

    [Fact]
    public void Report_has_the_experiment_shape_and_a_summary_across_phases()
    {
        var report = ExperimentReports.Small();

        using var json = JsonDocument.Parse(ReportWriter.ToJson(report));
        var root = json.RootElement;

        Assert.Equal("experiment", root.GetProperty("experiment_info").GetProperty("scenario").GetString());
        var phase = root.GetProperty("results")[1];
        Assert.Equal("crash-primary", phase.GetProperty("phase").GetString());
        foreach (var field in new[] { "min", "p50", "p95", "p99", "max" })
        {
            Assert.True(phase.GetProperty("ttd_ms").TryGetProperty(field, out _), $"ttd_ms lacks {field}");
            Assert.True(phase.GetProperty("ttr_ms").TryGetProperty(field, out _), $"ttr_ms lacks {field}");
        }

        foreach (var field in new[] { "rps", "avg_latency_ms", "p95_latency_ms", "p99_latency_ms", "success_rate" })
        {
            Assert.True(phase.GetProperty("load_test_result").TryGetProperty(field, out _), $"load_test_result lacks {field}");
        }

        var summary = root.GetProperty("summary");
        Assert.Equal(650, summary.GetProperty("avg_ttd_ms").GetDouble());
        Assert.Equal(1_200, summary.GetProperty("avg_ttr_ms").GetDouble());
        Assert.Equal(900, summary.GetProperty("max_p95_ms").GetDouble());
        Assert.Equal(0.97, summary.GetProperty("min_success_rate").GetDouble());
        Assert.Equal(1, summary.GetProperty("lost_total").GetInt32());
        Assert.Equal(new Distribution(600, 600, 700, 700, 700, 2), report.Results[1].TtdMs);
        Assert.Contains("| crash-primary | SIGKILL the primary gateway | 600 / 600 / 700 / 700 / 700 |", ReportWriter.Markdown(report), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.3, 0.5)]
    [InlineData(7, 10)]
    [InlineData(1_234, 2_000)]
    [InlineData(5_000, 5_000)]
    public void Chart_axes_end_on_round_numbers(double value, double end) => Assert.Equal(end, HtmlReport.Nice(value));

    /// <summary>A run at a steady rate; <paramref name="respond"/> gives each submission's acknowledgement time (null: never), and it finishes 5 ms later.</summary>
    private static (List<Submission> Run, Dictionary<Guid, Outcome> Outcomes) Steady(double rate, double seconds, Func<double, double?> respond)
    {
        var run = Enumerable.Range(0, (int)(rate * seconds)).Select(i =>
        {
            var sent = i * 1000 / rate;
            return respond(sent) is { } ack
                ? new Submission(i, "callback", sent, ack, Guid.NewGuid(), "http://127.0.0.1:5080", null)
                : new Submission(i, "callback", sent, null, null, null, "no answer");
        }).ToList();
        return (run, Outcomes(run));
    }

    private static Dictionary<Guid, Outcome> Outcomes(IEnumerable<Submission> run) =>
        run.Where(s => s.Acknowledged).ToDictionary(s => s.TaskId!.Value, s => new Outcome(s.AckMs + 5, true));
}

/// <summary>A small synthetic experiment report: a baseline and one fault phase with two repetitions.</summary>
internal static class ExperimentReports
{
    public static ExperimentReport Small()
    {
        var header = new ReportHeader("experiment", "PostgreSql", "taskserver-drill experiment --repeat 2", DateTimeOffset.UnixEpoch, 120, new MachineInfo(2, "Linux", "cpu", ".NET 10", "host"), new Dictionary<string, string> { ["rate_per_s"] = "50" });
        var timeline = new Timeline([0, 0.5, 1, 1.5, 2, 2.5], [50, 50, 0, 10, 80, 50], [0, 0, 4, 2, 0, 0], [5, 5, double.NaN, 900, 40, 6], [9, 9, double.NaN, 1200, 80, 9]);
        Repetition Rep(int number, double? ttd, double? ttr, int lost) => new(
            number, ttd is null ? null : "alpha", ttd is null ? null : 900, ttd, ttr, new LoadTestResult(49, 30, 900, 1300, 0.97), 100, 100, 99, 0, lost, 0, 0, timeline,
            ttd is null ? [] : [new Marker(900, "strike: crash-primary"), new Marker(900 + ttd.Value, "detected"), new Marker(900 + ttr!.Value, "recovered")], []);
        return ExperimentReport.Of(
            header,
            [
                ExperimentReport.Phase("baseline", "none: the steady load alone", "none", [Rep(1, null, null, 0)], new LoadTestResult(50, 8, 12, 20, 1), []),
                ExperimentReport.Phase("crash-primary", "SIGKILL the primary gateway", "primary suspected", [Rep(1, 600, 1_100, 1), Rep(2, 700, 1_300, 0)], new LoadTestResult(49, 30, 900, 1300, 0.97), ["a note"]),
            ]);
    }
}
