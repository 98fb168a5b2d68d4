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

internal sealed record BenchSettings(TimeSpan Duration, int Concurrency, int EndToEndTasks, double PacedRate, TimeSpan DrainTimeout);

/// <summary>
/// bench: in one run, against one cluster, the figures DESIGN sets targets for: (a) submissions through
/// the primary gateway, (b) the same straight to a worker's intake, a paced run at DESIGN's latency rate,
/// (c) Hangfire's raw enqueue on the same database, (d) end to end, submit -> Succeeded. Each phase
/// starts on an idle cluster (the previous phase's backlog executed first), so none pays for another.
/// </summary>
internal sealed class BenchRun(DrillContext context, BenchSettings settings)
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);

    // The quiet interval before (d) over which the cluster's background database work is measured.
    private static readonly TimeSpan IdleBaseline = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan StrandedAfter = TimeSpan.FromSeconds(5);

    private static readonly string[] FinalStates = ["Succeeded", "Failed", "Cancelled"];

    // DESIGN's reference on this kind of machine: plain Hangfire 1.8 + Hangfire.PostgreSql, one-off jobs.
    private const int HangfireStatementsPerJob = 51;
    private const int HangfireCommitsPerJob = 25;

    // How long the paced phase waits for its last submissions after its duration before abandoning them.
    private static readonly TimeSpan PacedGrace = TimeSpan.FromSeconds(30);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var env = context.Env;
        if (env.Workers.Count == 0)
        {
            throw new DrillException($"bench needs a worker to submit to directly; WORKERS in {env.Source} is empty.");
        }

        var (primary, view) = await context.Api.FindPrimaryAsync(cancellationToken);
        var worker = env.Workers[0];
        context.Log($"Primary {Markup.Escape(view.Self.Id)} at {primary}; direct phase on {worker}; {settings.Concurrency} callers, {settings.Duration.TotalSeconds:0.#} s per phase.");

        var clock = new RunClock(context.Time);
        using var recorder = new AckRecorder(clock);
        using var client = context.NewClient(recorder);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = settings.Concurrency * 2 }) { Timeout = TimeSpan.FromSeconds(30) };
        var loop = new ClosedLoop(http, clock);
        var notes = new List<string>();
        var markers = new List<Marker>();
        var all = new List<Submission>();

        await WaitUntilIdleAsync(client, notes, "Before the bench", cancellationToken);

        markers.Add(new Marker(clock.NowMs, "(a) gateway"));
        primary = await PrimaryAsync(primary, cancellationToken);
        context.Log($"(a) POST /tasks on the primary gateway, {primary}.");
        var gateway = await loop.RunAsync(i => Submit(new Uri(primary, "tasks"), i, internalIntake: false), settings.Concurrency, settings.Duration, int.MaxValue, cancellationToken);
        all.AddRange(gateway);
        await WaitUntilIdleAsync(client, notes, "After (a)", cancellationToken);

        markers.Add(new Marker(clock.NowMs, "(b) direct"));
        context.Log($"(b) POST /internal/tasks on {worker}.");
        var direct = await loop.RunAsync(i => Submit(new Uri(worker, "internal/tasks"), i, internalIntake: true), settings.Concurrency, settings.Duration, int.MaxValue, cancellationToken);
        all.AddRange(direct);
        await WaitUntilIdleAsync(client, notes, "After (b)", cancellationToken);

        markers.Add(new Marker(clock.NowMs, $"paced {settings.PacedRate:0}/s"));
        context.Log($"Paced: {settings.PacedRate:0} tasks/s through the client for {settings.Duration.TotalSeconds:0.#} s.");
        var pacedStart = clock.NowMs;
        var pacedCount = (int)Math.Max(1, settings.PacedRate * settings.Duration.TotalSeconds);
        var paced = await new SubmissionLoad(client, recorder, clock).RunAsync(
            pacedCount, settings.PacedRate, i => new TaskSpec("echo", new { bench = "paced", i }), cancellationToken, settings.Duration + PacedGrace);
        var pacedSpan = paced.Where(s => s.Acknowledged).Select(s => s.AckMs!.Value).DefaultIfEmpty(pacedStart).Max() - pacedStart;
        all.AddRange(paced);
        await WaitUntilIdleAsync(client, notes, "After the paced phase", cancellationToken);

        markers.Add(new Marker(clock.NowMs, "(c) raw Hangfire"));
        context.Log($"(c) Hangfire enqueue straight into the database (queue '{RawHangfireEnqueue.Queue}', served by nobody).");
        var raw = new RawHangfireEnqueue(env);
        var (rawCreated, rawErrors, rawSeconds) = await raw.RunAsync(settings.Concurrency, settings.Duration, cancellationToken);
        var deleted = await raw.CleanUpAsync(cancellationToken);
        notes.Add(deleted is { } count ? $"(c) deleted the {count} raw Hangfire jobs afterwards." : $"(c) the raw Hangfire jobs were left on queue '{RawHangfireEnqueue.Queue}' (no server fetches it).");

        markers.Add(new Marker(clock.NowMs, "(d) end to end"));
        context.Log($"(d) {settings.EndToEndTasks} echo tasks as fast as {settings.Concurrency} callers can submit them, until every one Succeeded.");
        var stats = env.IsPostgreSql ? new PostgresStats(env.StorageConnectionString, clock) : null;
        var statsUnavailable = stats is null ? "the statement and commit counts are read from PostgreSQL only" : await stats.PrepareAsync(cancellationToken);

        // The cluster's background rate (heartbeats, lease renewals, Hangfire polling) on an idle interval,
        // so that the per-task figures can also be given net of it.
        var idleBefore = stats is null ? null : await stats.SnapshotAsync(cancellationToken);
        await Task.Delay(IdleBaseline, cancellationToken);
        var idleAfter = stats is null ? null : await stats.SnapshotAsync(cancellationToken);
        primary = await PrimaryAsync(primary, cancellationToken);
        var endToEndStart = clock.NowMs;

        // Bounded by the count, not by time: the drain timeout only keeps a stalled cluster from holding the bench forever.
        var endToEnd = await loop.RunAsync(i => Submit(new Uri(primary, "tasks"), i, internalIntake: false), settings.Concurrency, settings.DrainTimeout, settings.EndToEndTasks, cancellationToken);
        all.AddRange(endToEnd);
        var finished = await WaitUntilFinalAsync(client, [.. endToEnd.Where(s => s.Acknowledged).Select(s => s.TaskId!.Value)], notes, cancellationToken);
        var countersAfter = stats is null ? null : await stats.SnapshotAsync(cancellationToken);
        var succeeded = finished.Where(t => t.Status == "Succeeded" && t.FinishedAt is not null).ToList();
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
            notes.Add($"Statements and commits per task count everything the database did for this database during (d), background work included; the idle cluster's background was {ReportWriter.Format(work.BackgroundStatementsPerS)} statements/s and {ReportWriter.Format(work.BackgroundCommitsPerS)} commits/s over {IdleBaseline.TotalSeconds:0} s, which the net figures subtract.");
        }

        var gatewayRate = Rate(gateway);
        var directRate = Rate(direct);
        var header = ReportHeader.Of("bench", context, clock, new Dictionary<string, string>
        {
            ["duration_s"] = settings.Duration.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["concurrency"] = settings.Concurrency.ToString(CultureInfo.InvariantCulture),
            ["end_to_end_tasks"] = settings.EndToEndTasks.ToString(CultureInfo.InvariantCulture),
            ["paced_rate_per_s"] = settings.PacedRate.ToString(CultureInfo.InvariantCulture),
            ["primary"] = primary.ToString(),
            ["direct_worker"] = worker.ToString(),
            ["policy"] = view.Policy ?? env.Policy ?? "unknown",
            ["task_type"] = "echo",
        });
        var report = new BenchReport(header)
        {
            GatewayTasksPerS = gatewayRate,
            GatewayErrors = gateway.Count(s => s.Error is not null),
            GatewayLatencyMs = LatencySummary.Of(gateway.Where(s => s.Acknowledged).Select(s => s.LatencyMs!.Value)),
            DirectWorkerTasksPerS = directRate,
            DirectWorkerErrors = direct.Count(s => s.Error is not null),
            DirectWorkerLatencyMs = LatencySummary.Of(direct.Where(s => s.Acknowledged).Select(s => s.LatencyMs!.Value)),
            GatewayVsDirectRatio = gatewayRate is { } g && directRate is > 0 ? Math.Round(g / directRate.Value, 2) : null,
            PacedRatePerS = settings.PacedRate,
            PacedAchievedPerS = pacedSpan > 0 ? Math.Round(paced.Count(s => s.Acknowledged) / (pacedSpan / 1000), 1) : null,
            PacedErrors = paced.Count(s => s.Error is not null),
            PacedLatencyMs = LatencySummary.Of(paced.Where(s => s.Acknowledged).Select(s => s.LatencyMs!.Value)),
            RawHangfireEnqueuePerS = rawSeconds > 0 ? Math.Round(rawCreated / rawSeconds, 1) : null,
            RawHangfireErrors = rawErrors,
            EndToEndTasks = endToEnd.Count,
            EndToEndSucceeded = succeeded.Count,
            EndToEndTasksPerS = endToEndRate,
            EndToEndLatencyMs = endToEndLatency,
            StatementsPerTask = work?.StatementsPerTask,
            CommitsPerTask = work?.CommitsPerTask,
            NetStatementsPerTask = work?.NetStatementsPerTask,
            NetCommitsPerTask = work?.NetCommitsPerTask,
            BackgroundStatementsPerS = work?.BackgroundStatementsPerS,
            BackgroundCommitsPerS = work?.BackgroundCommitsPerS,
            DatabaseStatsUnavailable = work?.StatementsPerTask is null ? statsUnavailable ?? "no counters were read" : null,
            ErrorsByReason = all.Where(s => s.Error is not null).GroupBy(s => s.Error!).ToDictionary(g => g.Key, g => g.Count()),
            FailedAttempts = recorder.FailedAttemptsByReason(),
            Targets = Targets(gatewayRate, directRate, endToEndRate, settings.PacedRate, paced, work),
            Notes = notes,
        };

        await ReportWriter.WriteAsync(context.ReportDirectory, report, ReportWriter.Markdown(report), Timeline.Build(all, recorder.FailedAttempts.Select(f => f.Ms)), $"bench: {env.StorageProvider}, {settings.Concurrency} callers", markers, cancellationToken);
        Summary.Print(context, report);
        return 0;
    }

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

    private static List<TargetCheck> Targets(double? gatewayRate, double? directRate, double? endToEndRate, double pacedRate, IReadOnlyList<Submission> paced, DatabaseWork? work)
    {
        var p99 = LatencySummary.Of(paced.Where(s => s.Acknowledged).Select(s => s.LatencyMs!.Value)).P99;
        var ratio = gatewayRate is { } g && directRate is > 0 ? g / directRate.Value : (double?)null;
        return
        [
            new("end-to-end throughput (submit -> Succeeded)", ">= 1000 tasks/s", $"{ReportWriter.Format(endToEndRate)} tasks/s", endToEndRate is { } e ? e >= 1000 : null),
            new("gateway vs straight to a worker", ">= 0.9x", $"{ReportWriter.Format(ratio is { } r ? Math.Round(r, 2) : null)}x ({ReportWriter.Format(gatewayRate)} vs {ReportWriter.Format(directRate)} tasks/s)", ratio is { } x ? x >= 0.9 : null),
            new($"submit latency p99 at {pacedRate:0} tasks/s", "< 100 ms at 200/s", $"{ReportWriter.Format(p99)} ms", p99 is { } p ? p < 100 : null),
            new(
                "database statements / commits per task, end to end",
                $"fewer than Hangfire alone (~{HangfireStatementsPerJob} / ~{HangfireCommitsPerJob} measured here)",
                work is null ? "n/a" : $"{ReportWriter.Format(work.StatementsPerTask)} / {ReportWriter.Format(work.CommitsPerTask)} (net of background {ReportWriter.Format(work.NetStatementsPerTask)} / {ReportWriter.Format(work.NetCommitsPerTask)})",
                work?.StatementsPerTask is { } statements ? statements < HangfireStatementsPerJob && work.CommitsPerTask < HangfireCommitsPerJob : null),
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
    /// Waits until every task of (d) is final, reading newest-first pages of final echo tasks down to
    /// the oldest of them: a few statements a round, where a GET per task would add a statement per task
    /// and round to the figures being measured. The items carry finishedAt, so polling once a second
    /// costs no precision.
    /// </summary>
    private async Task<List<TaskInfo>> WaitUntilFinalAsync(TaskServerClient client, IReadOnlyCollection<Guid> ids, List<string> notes, CancellationToken cancellationToken)
    {
        var pending = ids.ToHashSet();
        var finals = new List<TaskInfo>();
        if (pending.Count == 0)
        {
            return finals;
        }

        var oldest = pending.Min();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.DrainTimeout);
        try
        {
            while (true)
            {
                foreach (var status in FinalStates)
                {
                    Guid? after = null;
                    do
                    {
                        var page = await client.ListAsync(status, "echo", 500, after, deadline.Token);
                        finals.AddRange(page.Items.Where(t => pending.Remove(t.Id)));
                        after = page.Items.Count > 0 && page.Items[^1].Id.CompareTo(oldest) > 0 ? page.Next : null;
                    }
                    while (after is not null);
                }

                if (pending.Count == 0)
                {
                    return finals;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            notes.Add($"{pending.Count} tasks of (d) were not final after {settings.DrainTimeout.TotalSeconds:0} s.");
            return finals;
        }
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
