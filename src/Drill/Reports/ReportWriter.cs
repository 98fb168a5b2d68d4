using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Chaos;

namespace TaskServer.Drill.Reports;

/// <summary>Writes a run's three files: report.json (for machines), report.md (for people), timeline.png.</summary>
internal static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string ToJson<T>(T report) => JsonSerializer.Serialize(report, Json);

    public static System.Text.Json.Nodes.JsonNode ToJsonNode<T>(T report) => JsonSerializer.SerializeToNode(report, Json)!;

    public static T FromJsonNode<T>(System.Text.Json.Nodes.JsonNode node) => node.Deserialize<T>(Json) ?? throw new JsonException($"null where a {typeof(T).Name} was expected");

    public static async Task WriteAsync<T>(string directory, T report, string markdown, Timeline timeline, string chartTitle, IReadOnlyList<Marker> markers, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.json"), ToJson(report), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.md"), markdown, cancellationToken);
        TimelineChart.Save(Path.Combine(directory, "timeline.png"), chartTitle, timeline, markers);
    }

    /// <summary>Writes a run's report.json, report.md and report.html (the runs whose charts are a page rather than a picture).</summary>
    public static async Task WriteAsync<T>(string directory, T report, string markdown, string html, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.json"), ToJson(report), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.md"), markdown, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.html"), html, cancellationToken);
    }

    public static string Markdown(DrillReport report)
    {
        var md = new StringBuilder();
        Heading(md, $"Drill: {report.Scenario}", report.Header);
        md.AppendLine(CultureInfo.InvariantCulture, $"**Result: {(report.Passed ? "PASS" : "FAIL")}**").AppendLine();
        md.AppendLine("## Invariants").AppendLine().AppendLine("| invariant | result | detail |").AppendLine("| --- | --- | --- |");
        foreach (var invariant in report.Invariants)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {invariant.Name} | {(invariant.Passed ? "PASS" : "FAIL")} | {invariant.Detail} |");
        }

        md.AppendLine().AppendLine("## Tasks").AppendLine().AppendLine("| figure | value |").AppendLine("| --- | --- |");
        Row(md, "submitted", report.Submitted);
        Row(md, "acknowledged", report.Acknowledged);
        Row(md, "submit errors (never acknowledged)", report.SubmitErrors);
        Row(md, "succeeded", report.Succeeded);
        Row(md, "failed", report.Failed);
        Row(md, "cancelled", report.Cancelled);
        Row(md, "lost (acknowledged, not final)", report.Lost);
        Row(md, "duplicates (callback seen more than once)", report.Duplicates);
        Row(md, "attempts that repeated their side effect", report.RepeatedAttempts);
        Row(md, "succeeded without their side effect", report.MissingSideEffects);
        Row(md, "requeued (final attempt > 1)", report.Requeued);
        Row(md, "idempotent replays", report.IdempotentReplays);
        Row(md, "failed attempts (retried)", Reasons(report.FailedAttempts));
        Row(md, "throughput (acknowledged/s)", Format(report.ThroughputPerS));

        md.AppendLine().AppendLine("## Timings").AppendLine().AppendLine("| figure | measured | DESIGN target |").AppendLine("| --- | --- | --- |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| promoted | {(report.Promoted is { } promoted ? (promoted ? "yes" : "no") : "n/a")} | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| TTD, strike -> suspected (ms) | {Format(report.TtdMs)} | <= 1000 |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| TTD as the backup measured it, last good probe -> suspected (ms) | {Format(report.TtdProbeMs)} | <= 1000 |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| last good probe -> lease taken (ms) | {Format(report.PromotedAfterMs)} | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| strike -> backup's /health/primary 200 (ms) | {Format(report.PromotionObservedMs)} | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| TTR, strike -> first task accepted by the new primary (ms) | {Format(report.TtrMs)} | p50 <= 1500, p99 <= 3000 |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| longest gap between acknowledgements after the strike (ms) | {Format(report.UnavailableMs)} | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| strike -> dead worker's tasks requeued (ms) | {Format(report.OrphansRequeuedMs)} | <= 5000 (WorkerTimeout) |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| submit latency p50 / p95 / p99 (ms) | {Latency(report.LatencyMs)} | |");

        if (report.Target is { } target)
        {
            md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Struck: `{target.Action}` on {target.Node} ({target.NodeId}, pid {target.Pid}, {target.Url}).");
        }

        if (report.Failover is { } failover)
        {
            md.AppendLine().AppendLine("## Failover").AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"Epoch {failover.EpochBefore} ({failover.OldHolder}) -> {(failover.EpochAfter?.ToString(CultureInfo.InvariantCulture) ?? "none")} ({failover.NewHolder ?? "no new holder"}); suspected at {failover.SuspectedAt:O}, promoted at {failover.PromotedAt:O}.")
                .AppendLine().AppendLine("| epoch | holder |").AppendLine("| --- | --- |");
            foreach (var epoch in failover.Epochs)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {epoch.Epoch} | {epoch.Holder} |");
            }
        }

        Footer(md, report.Notes, report.LostIds.Count == 0 ? [] : [$"Lost task ids (first {report.LostIds.Count}): {string.Join(", ", report.LostIds)}"]);
        return md.ToString();
    }

    public static string Markdown(BenchReport report)
    {
        var md = new StringBuilder();
        Heading(md, report.Runs is { } runs ? $"Bench, median of {runs.Count} runs" : "Bench", report.Header);
        md.AppendLine("## Against DESIGN's targets").AppendLine().AppendLine("| figure | target | measured | met |").AppendLine("| --- | --- | --- | --- |");
        foreach (var target in report.Targets)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {target.Figure} | {target.Target} | {target.Measured} | {(target.Met is { } met ? (met ? "yes" : "no") : "n/a")} |");
        }

        md.AppendLine().AppendLine("## Figures").AppendLine().AppendLine("| phase | tasks/s | errors | latency p50 / p95 / p99 (ms) |").AppendLine("| --- | --- | --- | --- |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| (a) gateway, POST /tasks | {Format(report.GatewayTasksPerS)} | {report.GatewayErrors} | {Latency(report.GatewayLatencyMs)} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| (b) straight to the workers, POST /internal/tasks round-robin | {Format(report.DirectWorkerTasksPerS)} | {report.DirectWorkerErrors} | {Latency(report.DirectWorkerLatencyMs)} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| paced at {Format(report.PacedRatePerS)}/s through the gateway | {Format(report.PacedAchievedPerS)} | {report.PacedErrors} | {Latency(report.PacedGatewayLatencyMs)} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| paced at {Format(report.PacedRatePerS)}/s straight to the workers | | {report.PacedDirectErrors} | {Latency(report.PacedDirectLatencyMs)} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| (c) raw Hangfire enqueue, same database | {Format(report.RawHangfireEnqueuePerS)} | {report.RawHangfireErrors} | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| (d) end to end, submit -> Succeeded ({report.EndToEndSucceeded}/{report.EndToEndTasks}) | {Format(report.EndToEndTasksPerS)} | {report.EndToEndTasks - report.EndToEndSucceeded} | {Latency(report.EndToEndLatencyMs)} |");
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Gateway vs direct: {Format(report.GatewayVsDirectRatio)}x; direct phases over {string.Join(", ", report.DirectWorkers)}.");
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Idle for {Format(report.IdleS)} s: {Format(report.IdleCpuPercent)}% of {report.Machine.Cores} cores ({Roles(report.IdleCpuPercentByRole, "%")}), {Format(report.IdleStatementsPerS)} statements/s.");
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"CPU per task, end to end: {Roles(report.CpuMsPerTask, " ms")}.");
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Errors: {Reasons(report.ErrorsByReason)}; the client's failed attempts: {Reasons(report.FailedAttempts)}.");
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Database work per task over the end-to-end phase, read {Format(report.StatsReadAfterS)} s after its last task: {Format(report.StatementsPerTask)} statements, {Format(report.CommitsPerTask)} commits, {Format(report.WriteTransactionsPerTask)} writing transactions; net of the idle cluster's background ({Format(report.BackgroundStatementsPerS)} statements/s, {Format(report.BackgroundCommitsPerS)} commits/s): {Format(report.NetStatementsPerTask)} statements, {Format(report.NetCommitsPerTask)} commits{(report.DatabaseStatsUnavailable is { } why ? $" ({why})" : "")}. DESIGN's reference for Hangfire alone on PostgreSQL: ~51-62 statements and ~25-29 commits per job.");
        if (report.Runs is { } each)
        {
            md.AppendLine().AppendLine("## Runs").AppendLine().AppendLine("| run | end to end tasks/s | gateway / direct tasks/s | paced p99 gateway / direct (ms) | idle CPU % | statements / commits per task |")
                .AppendLine("| --- | --- | --- | --- | --- | --- |");
            for (var i = 0; i < each.Count; i++)
            {
                var run = each[i];
                var directory = Bench.BenchRun.RunDirectory(i + 1);
                md.AppendLine(CultureInfo.InvariantCulture, $"| [{i + 1}]({directory}/report.md) | {Format(run.EndToEndTasksPerS)} | {Format(run.GatewayTasksPerS)} / {Format(run.DirectWorkerTasksPerS)} | {Format(run.PacedGatewayLatencyMs.P99)} / {Format(run.PacedDirectLatencyMs.P99)} | {Format(run.IdleCpuPercent)} | {Format(run.StatementsPerTask)} / {Format(run.CommitsPerTask)} |");
            }

            Footer(md, report.Notes, [], [.. Enumerable.Range(1, each.Count).Select(i => $"{Bench.BenchRun.RunDirectory(i)}/timeline.png")]);
        }
        else
        {
            Footer(md, report.Notes, []);
        }

        return md.ToString();
    }

    public static string Markdown(RepeatedDrillReport report)
    {
        var md = new StringBuilder();
        Heading(md, $"Drill: {report.Scenario}, {report.Runs.Count} runs", report.Header);
        md.AppendLine(CultureInfo.InvariantCulture, $"**Result: {(report.Passed ? "PASS" : "FAIL")}** ({report.PassedRuns} of {report.Runs.Count} runs passed; {report.FalseSuspicions} false suspicions; {report.LostTotal} lost; {report.DuplicatesTotal} duplicates)").AppendLine();
        md.AppendLine("| figure (ms) | min | p50 | p95 | p99 | max | runs | DESIGN target |").AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        DistributionRow(md, "TTD, strike -> suspected", report.TtdMs, "<= 1000");
        DistributionRow(md, "TTR, strike -> first task accepted by the new primary", report.TtrMs, "p50 <= 1500, p99 <= 3000");
        DistributionRow(md, "longest gap between acknowledgements", report.UnavailableMs, "");
        md.AppendLine().AppendLine("## Runs").AppendLine().AppendLine("| run | struck | result | TTD ms | TTR ms | gap ms | false suspicion | acknowledged | lost | duplicates |")
            .AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var run in report.Runs)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| [{run.Run}]({run.Directory}/report.md) | {run.StruckNode} | {(run.Passed ? "PASS" : "FAIL")} | {Format(run.TtdMs)} | {Format(run.TtrMs)} | {Format(run.UnavailableMs)} | {(run.FalseSuspicion ? "yes" : "no")} | {run.Acknowledged} | {run.Lost} | {run.Duplicates} |");
        }

        md.AppendLine().AppendLine("## Timelines").AppendLine();
        foreach (var run in report.Runs)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"Run {run.Run}:").AppendLine().AppendLine(CultureInfo.InvariantCulture, $"![run {run.Run}]({run.Directory}/timeline.png)").AppendLine();
        }

        return md.ToString();
    }

    public static string Markdown(ExperimentReport report)
    {
        var md = new StringBuilder();
        Heading(md, "Fault-tolerance experiment", report.ExperimentInfo);
        var s = report.Summary;
        md.AppendLine(CultureInfo.InvariantCulture, $"{s.Phases} phases, {s.Repetitions} repetitions: mean TTD {Format(s.AvgTtdMs)} ms, mean TTR {Format(s.AvgTtrMs)} ms, worst p95 latency {Format(s.MaxP95Ms)} ms, lowest success rate {Format(s.MinSuccessRate)}; {s.LostTotal} acknowledged tasks lost, {s.RepeatedSideEffectsTotal} side effects repeated by one attempt. Charts: [report.html](report.html).").AppendLine();
        md.AppendLine("| phase | fault | TTD ms min / p50 / p95 / p99 / max | TTR ms min / p50 / p95 / p99 / max | rps | avg / p95 / p99 latency ms | success | lost | duplicates | incorrect |")
            .AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var p in report.Results)
        {
            var load = p.LoadTestResult;
            md.AppendLine(CultureInfo.InvariantCulture, $"| {p.Phase} | {p.Fault} | {Spread(p.TtdMs)} | {Spread(p.TtrMs)} | {Format(load.Rps)} | {Format(load.AvgLatencyMs)} / {Format(load.P95LatencyMs)} / {Format(load.P99LatencyMs)} | {Format(load.SuccessRate)} | {p.Lost} | {p.Duplicates} | {p.IncorrectResults} |");
        }

        md.AppendLine().AppendLine("TTD is read from the cluster's own records: " + string.Join("; ", report.Results.Select(p => $"{p.Phase}: {p.Detection}")) + ". TTR is strike -> service as before: of the submissions sent in a 2 s window, 98% acknowledged and finished right no slower than the baseline allows, none failed.");
        foreach (var p in report.Results)
        {
            var notes = p.Notes.Concat(p.Repetitions.SelectMany(r => r.Notes.Select(n => $"#{r.Number}: {n}"))).ToList();
            if (notes.Count > 0)
            {
                md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"## {p.Phase}").AppendLine();
                foreach (var note in notes)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
                }
            }
        }

        return md.ToString();
    }

    public static string Markdown(ChaosReport report)
    {
        const int listed = 20;
        var md = new StringBuilder();
        Heading(md, $"Chaos run, seed {report.Seed}", report.Header);
        md.AppendLine(CultureInfo.InvariantCulture, $"**Result: {(report.Passed ? "PASS" : "FAIL")}** (counts are tasks; the rules are in docs/CHAOS.md; charts: [report.html](report.html))").AppendLine();
        md.AppendLine("| count | tasks |").AppendLine("| --- | --- |");
        foreach (var (name, value) in report.Counts())
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {value} |");
        }

        md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"{report.Submitted} submitted, {report.Acknowledged} acknowledged ({Counted(report.AcknowledgedByKind)}), {report.SubmitErrors} given up on; final: {Counted(report.FinalStatuses)}; every acknowledged task final {(report.SettledAfterS is { } s ? $"{Format(s)} s after the cluster was whole again" : "only past the check's wait")}. Submission attempts retried: {Reasons(report.FailedAttempts)}; idempotent replays: {report.IdempotentReplays}.");
        md.AppendLine().AppendLine("## Faults").AppendLine().AppendLine("| kind | target | planned (s) | value | struck | struck / undone (s) | notes |").AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var f in report.Faults)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {f.Kind.Name()} | {f.Target} | {Format(f.Start)}-{Format(f.End)} | {Format(f.Value)} | {Cell(f.Struck ?? "-")} | {Format(f.StruckAt)} / {Format(f.UndoneAt)} | {Cell(string.Join("; ", f.Notes))} |");
        }

        if (report.Violations.Count > 0)
        {
            md.AppendLine().AppendLine("## Tasks found wrong").AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"Up to {listed} of each kind here; report.json lists up to {report.ViolationsListedPerKind} of each, with every read and callback.");
            foreach (var kind in report.Violations.GroupBy(v => v.Kind))
            {
                md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"### {kind.Key.Name()}").AppendLine();
                foreach (var v in kind.Take(listed))
                {
                    var calls = v.Callbacks.Count == 0 ? "" : $" Callbacks from attempts {string.Join(", ", v.Callbacks.Select(c => c.Attempt))}.";
                    md.AppendLine(CultureInfo.InvariantCulture, $"- `{v.TaskId}` ({v.TaskKind}, maxAttempts {v.MaxAttempts}): {v.Detail}. Reads: {History(v.History)}.{calls}");
                }
            }
        }

        Footer(md, report.Notes, [], timelines: []);
        return md.ToString();
    }

    /// <summary>A task's reads in one line: status#attempt@worker for each change seen.</summary>
    public static string History(IReadOnlyList<TaskRead> reads) =>
        reads.Count == 0 ? "none" : string.Join(" -> ", reads.Select(r => $"{r.Status}#{r.Attempt.ToString(CultureInfo.InvariantCulture)}{(r.Worker is null ? "" : "@" + r.Worker)}"));

    /// <summary>"a 3, b 1", or "none".</summary>
    public static string Counted(IReadOnlyDictionary<string, int> counts) =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Value}")));

    /// <summary>Text for a Markdown table cell: a pipe would end the cell.</summary>
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string Spread(Distribution d) => $"{Format(d.Min)} / {Format(d.P50)} / {Format(d.P95)} / {Format(d.P99)} / {Format(d.Max)}";

    public static void DistributionRow(StringBuilder md, string figure, Distribution distribution, string target) =>
        md.AppendLine(CultureInfo.InvariantCulture, $"| {figure} | {Format(distribution.Min)} | {Format(distribution.P50)} | {Format(distribution.P95)} | {Format(distribution.P99)} | {Format(distribution.Max)} | {distribution.Count} | {target} |");

    public static string Format(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.##", CultureInfo.InvariantCulture) : "n/a";

    public static string Latency(LatencySummary latency) => $"{Format(latency.P50)} / {Format(latency.P95)} / {Format(latency.P99)}";

    /// <summary>The one heading of every report.md: title, command line, start, storage, machine, settings.</summary>
    public static void Heading(StringBuilder md, string title, ReportHeader header)
    {
        var machine = header.Machine;
        md.AppendLine(CultureInfo.InvariantCulture, $"# {title}").AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"- command: `{header.Command}`")
            .AppendLine(CultureInfo.InvariantCulture, $"- started: {header.StartedAt:O}")
            .AppendLine(CultureInfo.InvariantCulture, $"- storage: {header.Storage}")
            .AppendLine(CultureInfo.InvariantCulture, $"- machine: {machine.Cores} cores ({machine.Cpu}), {machine.Os}, {machine.Runtime}, host {machine.HostName}")
            .AppendLine(CultureInfo.InvariantCulture, $"- settings: {string.Join(", ", header.Settings.Select(s => $"{s.Key} {s.Value}"))}")
            .AppendLine();
    }

    private static void Footer(StringBuilder md, IReadOnlyList<string> notes, IReadOnlyList<string> extra, IReadOnlyList<string>? timelines = null)
    {
        if (notes.Count + extra.Count > 0)
        {
            md.AppendLine().AppendLine("## Notes").AppendLine();
            foreach (var note in notes.Concat(extra))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }
        }

        foreach (var timeline in timelines ?? ["timeline.png"])
        {
            md.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"![timeline]({timeline})");
        }
    }

    private static string Roles(IReadOnlyDictionary<string, double> byRole, string unit) =>
        byRole.Count == 0 ? "n/a" : string.Join(", ", byRole.Select(r => $"{r.Key} {Format(r.Value)}{unit}"));

    private static string Reasons(IReadOnlyDictionary<string, int> reasons) =>
        reasons.Count == 0 ? "none" : string.Join(", ", reasons.Select(r => $"{r.Key} x{r.Value}"));

    private static void Row(StringBuilder md, string figure, object value) =>
        md.AppendLine(CultureInfo.InvariantCulture, $"| {figure} | {value} |");
}
