using System.Text.Json;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Chaos;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Tests;

public sealed class ChaosReportTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid Stuck = Guid.Parse("01900000-0000-7000-8000-000000000001");

    [Fact]
    public void Json_has_the_seed_the_schedule_the_counts_and_each_violation_with_its_history()
    {
        using var json = JsonDocument.Parse(ReportWriter.ToJson(Report()));
        var root = json.RootElement;

        foreach (var field in new[] { "scenario", "seed", "faults", "acknowledged", "lost", "attempts_over_max", "stale_side_effects", "backwards_statuses", "wrong_results", "violations", "passed", "events" })
        {
            Assert.True(root.TryGetProperty(field, out _), $"report.json lacks '{field}'");
        }

        Assert.Equal("chaos", root.GetProperty("scenario").GetString());
        Assert.Equal(42, root.GetProperty("seed").GetInt32());
        Assert.Equal(1, root.GetProperty("lost").GetInt32());
        Assert.False(root.GetProperty("passed").GetBoolean());
        var fault = root.GetProperty("faults")[0];
        Assert.Equal("kill_worker", fault.GetProperty("kind").GetString());
        Assert.Equal("w1", fault.GetProperty("target").GetString());
        Assert.Equal(3.5, fault.GetProperty("start").GetDouble());
        Assert.Equal(6, fault.GetProperty("end").GetDouble());
        var violation = root.GetProperty("violations")[0];
        Assert.Equal(Stuck, violation.GetProperty("task_id").GetGuid());
        Assert.Equal("lost", violation.GetProperty("kind").GetString());
        var read = violation.GetProperty("history")[1];
        Assert.Equal("Running", read.GetProperty("status").GetString());
        Assert.Equal(2, read.GetProperty("attempt").GetInt32());
        Assert.Equal("w2-b", read.GetProperty("worker").GetString());
        Assert.False(read.TryGetProperty("result", out _), "a read's result (an echo's whole payload) stays out of the report");
    }

    [Fact]
    public void Markdown_gives_each_count_the_faults_and_the_tasks_found_wrong()
    {
        var markdown = ReportWriter.Markdown(Report());

        Assert.Contains("# Chaos run, seed 42", markdown, StringComparison.Ordinal);
        Assert.Contains("**Result: FAIL**", markdown, StringComparison.Ordinal);
        Assert.Contains("| lost | 1 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| attempts_over_max | 0 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| kill_worker | w1 | 3.5-6 |", markdown, StringComparison.Ordinal);
        Assert.Contains("Queued#1@w1-a -> Running#2@w2-b", markdown, StringComparison.Ordinal);
        Assert.Contains("a\\|b", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_is_one_self_contained_page_with_the_counts_and_a_bar_per_fault()
    {
        var html = ChaosHtml.Render(Report());

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains("<svg id=\"fault-timeline\"", html, StringComparison.Ordinal);
        Assert.Equal(2, Occurrences(html, "<rect class=\"planned\""));
        Assert.Equal(1, Occurrences(html, "<rect class=\"fault\""));
        Assert.Contains("data-count=\"lost\">1<", html, StringComparison.Ordinal);
        Assert.Contains("<tr class=\"violation\">", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
        foreach (var outside in new[] { "<script", "<link", "<img", "src=", "http-equiv" })
        {
            Assert.DoesNotContain(outside, html, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Html_draws_its_timeline_offline_in_headless_Chromium()
    {
        if (!File.Exists(OfflinePage.Chromium))
        {
            Assert.Skip($"{OfflinePage.Chromium} is not installed (Debian package 'chromium').");
        }

        var directory = Directory.CreateTempSubdirectory("chaos-html-");
        try
        {
            var file = Path.Combine(directory.FullName, "report.html");
            await File.WriteAllTextAsync(file, ChaosHtml.Render(Report()), TestContext.Current.CancellationToken);

            await using var opened = await OfflinePage.OpenAsync(file);
            var page = opened.Page;

            Assert.Contains("chaos run", await page.TitleAsync(), StringComparison.Ordinal);
            var chart = await page.Locator("#fault-timeline").BoundingBoxAsync();
            Assert.NotNull(chart);
            Assert.True(chart.Width > 900 && chart.Height > 150, $"the timeline is drawn {chart.Width} x {chart.Height}");
            var bar = await page.Locator("#fault-timeline rect.fault").BoundingBoxAsync();
            Assert.True(bar is not null && bar.X > chart.X + 150 && bar.Width > 10, "the kill's bar sits on the time scale, struck to restarted");
            Assert.Equal("1", await page.Locator("[data-count=lost]").InnerTextAsync());
            Assert.Equal(1, await page.Locator("#violations tr.violation").CountAsync());
            Assert.Empty(opened.Requests);
            Assert.Empty(opened.Errors);

            await opened.ScreenshotAsync("chaos-report.png");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Writes_report_json_md_and_html()
    {
        var directory = Directory.CreateTempSubdirectory("chaos-report-");
        try
        {
            var report = Report();
            await ReportWriter.WriteAsync(directory.FullName, report, ReportWriter.Markdown(report), ChaosHtml.Render(report), TestContext.Current.CancellationToken);

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(directory.FullName, "report.json"), TestContext.Current.CancellationToken));
            Assert.Equal(42, json.RootElement.GetProperty("seed").GetInt32());
            Assert.StartsWith("# Chaos run", await File.ReadAllTextAsync(Path.Combine(directory.FullName, "report.md"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
            Assert.Contains("fault-timeline", await File.ReadAllTextAsync(Path.Combine(directory.FullName, "report.html"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static int Occurrences(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    internal static ChaosReport Report()
    {
        var header = new ReportHeader("chaos", "PostgreSql", "taskserver-drill chaos --seed 42", T0, 95, new MachineInfo(2, "Debian", "test CPU", ".NET 10", "test"), new Dictionary<string, string> { ["seed"] = "42" });
        TaskRead[] history =
        [
            new(T0.AddSeconds(1), TaskRead.ViaGet, "Queued", 1, 3, "w1-a", null, null, null),
            new(T0.AddSeconds(7), TaskRead.ViaGet, "Running", 2, 3, "w2-b", T0.AddSeconds(6.5), null, null) { Result = JsonDocument.Parse("{\"secret\":1}").RootElement },
        ];
        List<Submission> submissions = [new(0, "echo", 0, 10, Stuck, "http://127.0.0.1:5080", null), new(1, "sleep", 10, 2000, Guid.NewGuid(), "http://127.0.0.1:5081", null)];
        return new ChaosReport(header)
        {
            Seed = 42,
            Faults =
            [
                new ChaosFault(FaultKind.KillWorker, "w1", 3.5, 6, null, "w1", 3.6, 8.2, []),
                new ChaosFault(FaultKind.PauseWorker, "w2", 4, 5, null, null, null, null, ["skipped: w2 was still held", "a|b"]),
            ],
            Submitted = 2,
            Acknowledged = 2,
            AcknowledgedByKind = new Dictionary<string, int> { ["echo"] = 1, ["sleep"] = 1 },
            SubmitErrors = 0,
            FinalStatuses = new Dictionary<string, int> { ["Succeeded"] = 1 },
            Lost = 1,
            AttemptsOverMax = 0,
            StaleSideEffects = 0,
            BackwardsStatuses = 0,
            WrongResults = 0,
            Passed = false,
            SettledAfterS = null,
            FailedAttempts = new Dictionary<string, int> { ["ConnectionError"] = 3 },
            IdempotentReplays = 1,
            Violations = [new Violation(Stuck, ViolationKind.Lost, "echo <script>", 3, "not final by the deadline", history, [new CallbackCall(1, T0.AddSeconds(2))])],
            ViolationsListedPerKind = 100,
            Events = [new ChaosEvent(3.6, "KillWorker w1: w1: SIGKILL")],
            Timeline = Timeline.Build(submissions, [1500], 500),
            Notes = ["a note"],
        };
    }
}
