using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Spectre.Console;
using TaskServer.Client;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;
using TaskServer.Drill.Scenarios;

namespace TaskServer.Drill.Bench;

/// <param name="Idle">How long the idle phase lasts (nothing submitted: the cluster's own background).</param>
/// <param name="Runs">How many times the whole bench runs; the report gives each run and the median.</param>
internal sealed record BenchSettings(TimeSpan Duration, int Concurrency, int EndToEndTasks, double PacedRate, TimeSpan DrainTimeout, TimeSpan Idle, int Runs, TimeSpan WarmUp);

/// <summary>
/// bench: in one run, against one cluster, the figures DESIGN sets targets for: (a) submissions through
/// the primary gateway, (b) the same straight to the workers' intake (round-robin over the workers the
/// gateway routes to), paced submissions at DESIGN's latency rate through the gateway and straight to the
/// workers, (c) Hangfire's raw enqueue on the same database, an idle phase (the cluster's own CPU and
/// statements), (d) end to end, submit -> Succeeded. Each phase starts on an idle cluster (the previous
/// phase's backlog executed first), so none pays for another.
/// </summary>
internal sealed class BenchRun(DrillContext context, BenchSettings settings)
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);

    private static readonly TimeSpan StrandedAfter = TimeSpan.FromSeconds(5);

    private static readonly string[] FinalStates = ["Succeeded", "Failed", "Cancelled"];

    // How long a paced request may take before it is abandoned and counted as an error.
    private static readonly TimeSpan PacedTimeout = TimeSpan.FromSeconds(30);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (context.Env.Workers.Count == 0)
        {
            throw new DrillException($"bench needs a worker to submit to directly; WORKERS in {context.Env.Source} is empty.");
        }

        var clock = new RunClock(context.Time);
        if (settings.Runs == 1)
        {
            var single = await RunOnceAsync(context.ReportDirectory, cancellationToken);
            Summary.Print(context, single);
            return 0;
        }

        var runs = new List<BenchReport>();
        for (var i = 1; i <= settings.Runs; i++)
        {
            context.Log($"[bold]Bench run {i} of {settings.Runs}[/].");
            runs.Add(await RunOnceAsync(Path.Combine(context.ReportDirectory, RunDirectory(i)), cancellationToken));
        }

        var median = BenchReport.MedianOf(ReportHeader.Of("bench", context, clock, runs[0].Settings), runs);
        var report = median with
        {
            Targets = Targets(median),
            Notes = [.. runs.SelectMany((r, i) => r.Notes.Select(n => $"run {i + 1}: {n}"))],
        };
        Directory.CreateDirectory(context.ReportDirectory);
        await File.WriteAllTextAsync(Path.Combine(context.ReportDirectory, "report.json"), ReportWriter.ToJson(report), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(context.ReportDirectory, "report.md"), ReportWriter.Markdown(report), cancellationToken);
        Summary.Print(context, report);
        return 0;
    }

    /// <summary>Where run i's own report goes under the report directory (run-01, run-02, ...).</summary>
    public static string RunDirectory(int run) => string.Create(CultureInfo.InvariantCulture, $"run-{run:00}");

    private async Task<BenchReport> RunOnceAsync(string directory, CancellationToken cancellationToken)
    {
        var env = context.Env;
        var (primary, view) = await context.Api.FindPrimaryAsync(cancellationToken);
        var workers = DirectWorkers(view);
        context.Log($"Primary {Markup.Escape(view.Self.Id)} at {primary}; direct phases round-robin over {string.Join(", ", workers)}; {settings.Concurrency} callers, {settings.Duration.TotalSeconds:0.#} s per phase.");

        var clock = new RunClock(context.Time);
        using var recorder = new AckRecorder(clock, context.CaCertificate);
        using var client = context.NewClient(recorder);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = settings.Concurrency * 2 }.Trusting(context.CaCertificate)) { Timeout = TimeSpan.FromSeconds(30) };
        var loop = new HttpLoad(http, clock);
        var notes = new List<string>();
        var markers = new List<Marker>();
        var all = new List<Submission>();
        Uri Direct(int i) => new(workers[i % workers.Count], "internal/tasks");

        await WaitUntilIdleAsync(client, notes, "Before the bench", cancellationToken);

        // A node's first seconds under load run code the JIT has not optimised yet: whichever phase came first paid for it.
        context.Log($"Warm-up: {settings.WarmUp.TotalSeconds:0.#} s through the gateway and {settings.WarmUp.TotalSeconds:0.#} s straight to the workers, not measured.");
        primary = await PrimaryAsync(primary, cancellationToken);
        var warmUpGateway = await loop.RunAsync(i => Submit(new Uri(primary, "tasks"), i, internalIntake: false), settings.Concurrency, settings.WarmUp, int.MaxValue, cancellationToken);
        var warmUpDirect = await loop.RunAsync(i => Submit(Direct(i), i, internalIntake: true), settings.Concurrency, settings.WarmUp, int.MaxValue, cancellationToken);
        notes.Add($"Warm-up before (a): {warmUpGateway.Concat(warmUpDirect).Count(s => s.Acknowledged)} tasks submitted over {2 * settings.WarmUp.TotalSeconds:0.#} s, in no figure.");
        await WaitUntilIdleAsync(client, notes, "After the warm-up", cancellationToken);

        markers.Add(new Marker(clock.NowMs, "(a) gateway"));
        primary = await PrimaryAsync(primary, cancellationToken);
        context.Log($"(a) POST /tasks on the primary gateway, {primary}.");
        var gateway = await loop.RunAsync(i => Submit(new Uri(primary, "tasks"), i, internalIntake: false), settings.Concurrency, settings.Duration, int.MaxValue, cancellationToken);
        all.AddRange(gateway);
        await WaitUntilIdleAsync(client, notes, "After (a)", cancellationToken);

        markers.Add(new Marker(clock.NowMs, "(b) direct"));
        context.Log($"(b) POST /internal/tasks round-robin over {workers.Count} workers.");
        var direct = await loop.RunAsync(i => Submit(Direct(i), i, internalIntake: true), settings.Concurrency, settings.Duration, int.MaxValue, cancellationToken);
        all.AddRange(direct);
        await WaitUntilIdleAsync(client, notes, "After (b)", cancellationToken);

        var pacedCount = (int)Math.Max(1, settings.PacedRate * settings.Duration.TotalSeconds);
        markers.Add(new Marker(clock.NowMs, $"paced {settings.PacedRate:0}/s gateway"));
        primary = await PrimaryAsync(primary, cancellationToken);
        context.Log($"Paced: {settings.PacedRate:0} tasks/s on the primary gateway for {settings.Duration.TotalSeconds:0.#} s.");
        var pacedStart = clock.NowMs;
        var paced = await loop.PacedAsync(i => Submit(new Uri(primary, "tasks"), i, internalIntake: false), settings.PacedRate, pacedCount, PacedTimeout, cancellationToken);
        var pacedSpan = paced.Where(s => s.Acknowledged).Select(s => s.AckMs!.Value).DefaultIfEmpty(pacedStart).Max() - pacedStart;
        all.AddRange(paced);
        await WaitUntilIdleAsync(client, notes, "After the paced gateway phase", cancellationToken);

        markers.Add(new Marker(clock.NowMs, $"paced {settings.PacedRate:0}/s direct"));
        context.Log($"Paced: {settings.PacedRate:0} tasks/s straight to the workers for {settings.Duration.TotalSeconds:0.#} s.");
        var pacedDirect = await loop.PacedAsync(i => Submit(Direct(i), i, internalIntake: true), settings.PacedRate, pacedCount, PacedTimeout, cancellationToken);
        all.AddRange(pacedDirect);
        await WaitUntilIdleAsync(client, notes, "After the paced direct phase", cancellationToken);

        markers.Add(new Marker(clock.NowMs, "(c) raw Hangfire"));
        context.Log($"(c) Hangfire enqueue straight into the database (queue '{RawHangfireEnqueue.Queue}', served by nobody).");
        var raw = new RawHangfireEnqueue(env);
        var (rawCreated, rawErrors, rawSeconds) = await raw.RunAsync(settings.Concurrency, settings.Duration, cancellationToken);
        var deleted = await raw.CleanUpAsync(cancellationToken);
        notes.Add(deleted is { } count ? $"(c) deleted the {count} raw Hangfire jobs afterwards." : $"(c) the raw Hangfire jobs were left on queue '{RawHangfireEnqueue.Queue}' (no server fetches it).");

        var stats = env.IsPostgreSql ? new PostgresStats(env.StorageConnectionString, clock) : null;
        var statsUnavailable = stats is null ? "the statement and commit counts are read from PostgreSQL only" : await stats.PrepareAsync(cancellationToken);
        var cpu = new ProcessCpu(env, clock, async token => stats is null ? null : await ProcessCpu.ParentAsync(await stats.BackendPidAsync(token), token));

        // The idle phase starts once the earlier phases' commits are published, so that none is counted in it.
        context.Log($"Idle: nothing submitted for {settings.Idle.TotalSeconds:0} s (after {PostgresStats.FlushDelay.TotalSeconds:0} s for the database's statistics to settle).");
        await Task.Delay(PostgresStats.FlushDelay, cancellationToken);
        markers.Add(new Marker(clock.NowMs, "idle"));
        var idleCpuBefore = await cpu.SampleAsync(cancellationToken);
        var idleBefore = stats is null ? null : await stats.SnapshotAsync(cancellationToken);
        await Task.Delay(settings.Idle, cancellationToken);
        var idleCpu = CpuUsage.Between(idleCpuBefore, await cpu.SampleAsync(cancellationToken), context.Machine.Cores);
        var idleAfter = stats is null ? null : await stats.SnapshotAsync(cancellationToken);

        markers.Add(new Marker(clock.NowMs, "(d) end to end"));
        context.Log($"(d) {settings.EndToEndTasks} echo tasks as fast as {settings.Concurrency} callers can submit them, until every one Succeeded.");
        primary = await PrimaryAsync(primary, cancellationToken);
        var endToEndStart = clock.NowMs;
        var endToEndCpuBefore = await cpu.SampleAsync(cancellationToken);

        // Bounded by the count, not by time: the drain timeout only keeps a stalled cluster from holding the bench forever.
        var endToEnd = await loop.RunAsync(i => Submit(new Uri(primary, "tasks"), i, internalIntake: false), settings.Concurrency, settings.DrainTimeout, settings.EndToEndTasks, cancellationToken);
        all.AddRange(endToEnd);
        var finished = await WaitUntilFinalAsync(client, [.. endToEnd.Where(s => s.Acknowledged).Select(s => s.TaskId!.Value)], notes, cancellationToken);
        var endToEndCpu = CpuUsage.Between(endToEndCpuBefore, await cpu.SampleAsync(cancellationToken), context.Machine.Cores);
        var succeeded = finished.Where(t => t.Status == "Succeeded" && t.FinishedAt is not null).ToList();

        // Commits are read once the backends have published them; the net figures take the background of that wait out.
        await Task.Delay(PostgresStats.FlushDelay, cancellationToken);
        var countersAfter = stats is null ? null : await stats.SnapshotAsync(cancellationToken);
        var sentAt = endToEnd.Where(s => s.Acknowledged).ToDictionary(s => s.TaskId!.Value, s => clock.ToWall(s.SentMs));
        var endToEndLatency = LatencySummary.Of(succeeded.Select(t => (t.FinishedAt!.Value - sentAt[t.Id]).TotalMilliseconds));
        double? endToEndRate = succeeded.Count == 0
            ? null
            : Math.Round(succeeded.Count / (succeeded.Max(t => t.FinishedAt!.Value) - clock.ToWall(endToEndStart)).TotalSeconds, 1);

        // Per task that went all the way: a submission refused at the edge costs little and would flatter the figure.
        var work = idleBefore is not null && idleAfter is not null && countersAfter is not null
            ? DatabaseWork.Of(idleBefore, idleAfter, countersAfter, succeeded.Count)
            : null;
        if (work is null && stats is not null)
        {
            statsUnavailable ??= "no task of (d) succeeded, so there is nothing to divide by";
        }
        else if (work is not null)
        {
            statsUnavailable ??= countersAfter!.StatementsUnavailable;
            notes.Add($"Statements and commits per task count everything the database did for this database during (d), background work included, read {PostgresStats.FlushDelay.TotalSeconds:0} s after its last task (PostgreSQL publishes a backend's commits up to 10 s after it goes idle; pg_stat_statements and the transaction ids need no wait); the idle cluster's background was {ReportWriter.Format(work.BackgroundStatementsPerS)} statements/s and {ReportWriter.Format(work.BackgroundCommitsPerS)} commits/s over {settings.Idle.TotalSeconds:0} s, which the net figures subtract.");
        }

        if (!idleCpu.PercentByRole.ContainsKey(CpuSample.Database))
        {
            notes.Add("The database's CPU is not counted: the postmaster was not found (PostgreSQL only, on this machine).");
        }

        var gatewayRate = Rate(gateway);
        var directRate = Rate(direct);
        var header = ReportHeader.Of("bench", context, clock, new Dictionary<string, string>
        {
            ["duration_s"] = settings.Duration.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["concurrency"] = settings.Concurrency.ToString(CultureInfo.InvariantCulture),
            ["end_to_end_tasks"] = settings.EndToEndTasks.ToString(CultureInfo.InvariantCulture),
            ["paced_rate_per_s"] = settings.PacedRate.ToString(CultureInfo.InvariantCulture),
            ["idle_s"] = settings.Idle.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["runs"] = settings.Runs.ToString(CultureInfo.InvariantCulture),
            ["primary"] = primary.ToString(),
            ["policy"] = view.Policy ?? env.Policy ?? "unknown",
            ["task_type"] = "echo",
        });
        var pacedGatewayLatency = LatencySummary.Of(paced.Where(s => s.Acknowledged).Select(s => s.LatencyMs!.Value));
        var report = new BenchReport(header)
        {
            GatewayTasksPerS = gatewayRate,
            GatewayErrors = gateway.Count(s => s.Error is not null),
            GatewayLatencyMs = LatencySummary.Of(gateway.Where(s => s.Acknowledged).Select(s => s.LatencyMs!.Value)),
            DirectWorkerTasksPerS = directRate,
            DirectWorkerErrors = direct.Count(s => s.Error is not null),
            DirectWorkerLatencyMs = LatencySummary.Of(direct.Where(s => s.Acknowledged).Select(s => s.LatencyMs!.Value)),
            GatewayVsDirectRatio = gatewayRate is { } g && directRate is > 0 ? Math.Round(g / directRate.Value, 2) : null,
            DirectWorkers = [.. workers.Select(w => w.ToString())],
            PacedRatePerS = settings.PacedRate,
            PacedAchievedPerS = pacedSpan > 0 ? Math.Round(paced.Count(s => s.Acknowledged) / (pacedSpan / 1000), 1) : null,
            PacedErrors = paced.Count(s => s.Error is not null),
            PacedLatencyMs = pacedGatewayLatency,
            PacedGatewayLatencyMs = pacedGatewayLatency,
            PacedDirectLatencyMs = LatencySummary.Of(pacedDirect.Where(s => s.Acknowledged).Select(s => s.LatencyMs!.Value)),
            PacedDirectErrors = pacedDirect.Count(s => s.Error is not null),
            IdleS = settings.Idle.TotalSeconds,
            IdleCpuPercent = idleCpu.TotalPercent,
            IdleCpuPercentByRole = idleCpu.PercentByRole,
            IdleStatementsPerS = work?.BackgroundStatementsPerS,
            RawHangfireEnqueuePerS = rawSeconds > 0 ? Math.Round(rawCreated / rawSeconds, 1) : null,
            RawHangfireErrors = rawErrors,
            EndToEndTasks = endToEnd.Count,
            EndToEndSucceeded = succeeded.Count,
            EndToEndTasksPerS = endToEndRate,
            EndToEndLatencyMs = endToEndLatency,
            StatementsPerTask = work?.StatementsPerTask,
            CommitsPerTask = work?.CommitsPerTask,
            WriteTransactionsPerTask = work?.WriteTransactionsPerTask,
            StatsReadAfterS = PostgresStats.FlushDelay.TotalSeconds,
            CpuMsPerTask = endToEndCpu.PerTask(succeeded.Count),
            NetStatementsPerTask = work?.NetStatementsPerTask,
            NetCommitsPerTask = work?.NetCommitsPerTask,
            BackgroundStatementsPerS = work?.BackgroundStatementsPerS,
            BackgroundCommitsPerS = work?.BackgroundCommitsPerS,
            DatabaseStatsUnavailable = work?.StatementsPerTask is null ? statsUnavailable ?? "no counters were read" : null,
            ErrorsByReason = all.Where(s => s.Error is not null).GroupBy(s => s.Error!).ToDictionary(g => g.Key, g => g.Count()),
            FailedAttempts = recorder.FailedAttemptsByReason(),
            Targets = [],
            Notes = notes,
        };
        report = report with { Targets = Targets(report) };

        await ReportWriter.WriteAsync(directory, report, ReportWriter.Markdown(report), Timeline.Build(all, recorder.FailedAttempts.Select(f => f.Ms)), $"bench: {env.StorageProvider}, {settings.Concurrency} callers", markers, cancellationToken);
        return report;
    }

    /// <summary>
    /// The intake of every worker the primary's balancer routes to (the nodes the gateway phase reaches, standalone
    /// ones included), so that the direct phases spread over the same workers; the cluster file's workers when the
    /// primary does not say.
    /// </summary>
    internal static IReadOnlyList<Uri> DirectWorkers(ClusterView view, IReadOnlyList<Uri> fallback)
    {
        var routed = view.Nodes.Where(n => n.Routed == true && n.Live).Select(n => new Uri(n.Url)).Distinct().OrderBy(u => u.ToString(), StringComparer.Ordinal).ToList();
        return routed.Count > 0 ? routed : fallback;
    }

    private IReadOnlyList<Uri> DirectWorkers(ClusterView view) => DirectWorkers(view, context.Env.Workers);

    /// <summary>
    /// The primary as of now: a phase that posts straight to a gateway must follow a change of primary
    /// (a loaded machine can cost the primary its lease between phases), or it measures 503s.
    /// </summary>
    private async Task<Uri> PrimaryAsync(Uri previous, CancellationToken cancellationToken)
    {
        var (primary, view) = await context.Api.WaitForPrimaryAsync(TimeSpan.FromSeconds(30), cancellationToken);
        if (primary != previous)
        {
            context.Log($"The primary is now {Markup.Escape(view.Self.Id)} at {primary}.");
        }

        return primary;
    }

    /// <summary>
    /// DESIGN's targets against a report's figures. The end-to-end rate counts only when every task submitted
    /// succeeded: a rate over the tasks let through, with others refused, would not be the cluster's. The gateway's
    /// cost is held to the paced latency row (DESIGN's target for the hop); the closed-loop gateway/direct ratio is
    /// reported among the figures.
    /// </summary>
    internal static List<TargetCheck> Targets(BenchReport r)
    {
        var gatewayP99 = r.PacedGatewayLatencyMs.P99;
        var directP99 = r.PacedDirectLatencyMs.P99;
        var allSucceeded = r.EndToEndSucceeded == r.EndToEndTasks;
        return
        [
            new(
                "end-to-end throughput (submit -> Succeeded)",
                ">= 1000 tasks/s, every task submitted succeeded",
                $"{ReportWriter.Format(r.EndToEndTasksPerS)} tasks/s, {r.EndToEndSucceeded} of {r.EndToEndTasks} succeeded",
                r.EndToEndTasksPerS is { } e ? e >= 1000 && allSucceeded : null),
            new(
                $"submit latency p99 at {r.PacedRatePerS:0} tasks/s paced",
                "< 100 ms through the gateway, and <= direct p99 + 5 ms",
                $"gateway {ReportWriter.Format(gatewayP99)} ms, direct {ReportWriter.Format(directP99)} ms",
                gatewayP99 is { } p && directP99 is { } d ? p < 100 && p <= d + 5 : null),
            new(
                "idle cluster",
                "<= 3% of the cores, <= 20 statements/s",
                $"{ReportWriter.Format(r.IdleCpuPercent)}% of {r.Machine.Cores} cores, {ReportWriter.Format(r.IdleStatementsPerS)} statements/s",
                r.IdleCpuPercent is { } cpu && r.IdleStatementsPerS is { } statements ? cpu <= 3 && statements <= 20 : null),
            new(
                "database statements / commits per task, end to end",
                "<= 4 / <= 2",
                r.StatementsPerTask is null && r.CommitsPerTask is null ? "n/a" : $"{ReportWriter.Format(r.StatementsPerTask)} / {ReportWriter.Format(r.CommitsPerTask)} (net of background {ReportWriter.Format(r.NetStatementsPerTask)} / {ReportWriter.Format(r.NetCommitsPerTask)}; {ReportWriter.Format(r.WriteTransactionsPerTask)} writing transactions)",
                r.StatementsPerTask is { } s && r.CommitsPerTask is { } c ? s <= 4 && c <= 2 : null),
        ];
    }

    private static double? Rate(IReadOnlyList<Submission> phase)
    {
        var acknowledged = phase.Where(s => s.Acknowledged).ToList();
        if (acknowledged.Count == 0)
        {
            return null;
        }

        var span = acknowledged.Max(s => s.AckMs!.Value) - phase.Min(s => s.SentMs);
        return span > 0 ? Math.Round(acknowledged.Count / (span / 1000), 1) : null;
    }

    /// <summary>One echo submission, to the gateway (API key) or to a worker's intake (cluster secret), with an Idempotency-Key as the client library sends.</summary>
    private HttpRequestMessage Submit(Uri url, int index, bool internalIntake)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent($$$"""{"type":"echo","payload":{"bench":{{{index}}}}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        if (internalIntake)
        {
            request.Headers.Add("X-Cluster-Secret", context.Env.ClusterSecret);
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.Env.ApiKey);
        }

        return request;
    }

    /// <summary>
    /// Waits until every task of (d) is final without loading the cluster while it works: nothing is read
    /// while the submissions run, then the backlog is watched until no echo task is Queued or Running, then
    /// the final echo tasks are read once, newest-first pages down to the oldest of (d). Reading every final
    /// task once a second during the phase cost the gateway, the database and this client more CPU than
    /// some of the work being measured. The items carry finishedAt, so reading them late costs no precision.
    /// </summary>
    private async Task<List<TaskInfo>> WaitUntilFinalAsync(TaskServerClient client, IReadOnlyCollection<Guid> ids, List<string> notes, CancellationToken cancellationToken)
    {
        var pending = ids.ToHashSet();
        var finals = new List<TaskInfo>();
        if (pending.Count == 0)
        {
            return finals;
        }

        await WaitUntilIdleAsync(client, notes, "(d)", cancellationToken);
        var oldest = pending.Min();
        foreach (var status in FinalStates)
        {
            Guid? after = null;
            do
            {
                var page = await client.ListAsync(status, "echo", 500, after, cancellationToken);
                finals.AddRange(page.Items.Where(t => pending.Remove(t.Id)));
                after = page.Items.Count > 0 && page.Items[^1].Id.CompareTo(oldest) > 0 ? page.Next : null;
            }
            while (after is not null);
        }

        if (pending.Count > 0)
        {
            notes.Add($"{pending.Count} tasks of (d) were not final when no echo task was left Queued or Running (or after {settings.DrainTimeout.TotalSeconds:0} s).");
        }

        return finals;
    }

    /// <summary>
    /// Waits until no echo task is Queued or Running, so the next phase starts on an idle cluster. Tasks
    /// that stay Queued while nothing runs for <see cref="StrandedAfter"/> are stranded (their job lost or
    /// failed): they are reported, not waited for.
    /// </summary>
    private async Task WaitUntilIdleAsync(TaskServerClient client, List<string> notes, string when, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.DrainTimeout);
        var clock = new RunClock(context.Time);
        var (lastQueued, stableSinceMs) = (-1, 0.0);
        try
        {
            while (true)
            {
                var queued = (await client.ListAsync("Queued", "echo", 500, cancellationToken: deadline.Token)).Items.Count;
                var running = (await client.ListAsync("Running", "echo", 500, cancellationToken: deadline.Token)).Items.Count;
                if (queued == 0 && running == 0)
                {
                    return;
                }

                if (running > 0 || queued != lastQueued)
                {
                    (lastQueued, stableSinceMs) = (queued, clock.NowMs);
                }
                else if (clock.NowMs - stableSinceMs >= StrandedAfter.TotalMilliseconds)
                {
                    notes.Add($"{when}: {queued} echo tasks stayed Queued with nothing running for {StrandedAfter.TotalSeconds:0} s (stranded: their Hangfire job lost or failed); not waited for.");
                    return;
                }

                await Task.Delay(IdlePoll, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            notes.Add($"{when}: the echo backlog had not drained after {settings.DrainTimeout.TotalSeconds:0} s; the next phase ran on a busy cluster.");
        }
    }
}
