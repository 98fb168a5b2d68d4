using System.Globalization;
using System.Net;
using Spectre.Console;
using TaskServer.Client;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;
using TaskServer.Drill.Scenarios;

namespace TaskServer.Drill.Experiment;

/// <param name="Before">Load before each strike: the baseline that recovery is measured against.</param>
/// <param name="Window">Load after each strike: how long the cluster has to detect and recover.</param>
internal sealed record ExperimentSettings(IReadOnlyList<Phase> Phases, int Repeat, double Rate, TimeSpan Before, TimeSpan Window, TimeSpan DrainTimeout);

/// <summary>
/// experiment: under a steady load (callback tasks, whose side effects are counted, alternating with hash tasks,
/// whose results are checked), each phase strikes the cluster N times, restoring the struck node in between, and
/// reads from the cluster's own records when it noticed (TTD) and from the load when service was as before (TTR).
/// </summary>
internal sealed class ExperimentRun(DrillContext context, ExperimentSettings settings)
{
    private const int LatencyMs = 1200;
    private const double ErrorRate = 0.3;
    private const int HashRounds = 100;
    private const string StorageUnavailable = "503 storage-unavailable";

    private static readonly TimeSpan PauseFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DatabaseDownFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PartitionFor = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    // After the cluster is whole again the backup must have probed the primary healthy a few times, and the
    // balancer seen every worker, before the next strike.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);

    private readonly Faults faults = new(context.Env, context.Http);
    private readonly ClusterScript script = new(context.Env);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var env = context.Env;
        if (settings.Phases.Any(p => p.NeedsFaultEndpoint) && !env.FaultsEnabled)
        {
            throw new DrillException($"The phases {string.Join(", ", settings.Phases.Where(p => p.NeedsFaultEndpoint).Select(p => p.Name))} need POST /admin/faults, and {env.Source} says the nodes run without it: start the cluster with 'scripts/cluster.sh up --faults', or leave those phases out (--phases).");
        }

        env.RequireClusterScript();
        var clock = new RunClock(context.Time);
        var results = new List<PhaseResult>();
        foreach (var phase in settings.Phases)
        {
            results.Add(await PhaseAsync(phase, cancellationToken));
        }

        var info = new Dictionary<string, string>
        {
            ["phases"] = string.Join(",", settings.Phases.Select(p => p.Name)),
            ["repeat"] = settings.Repeat.ToString(CultureInfo.InvariantCulture),
            ["rate_per_s"] = settings.Rate.ToString(CultureInfo.InvariantCulture),
            ["before_strike_s"] = settings.Before.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["window_s"] = settings.Window.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["task_types"] = $"callback and hash ({HashRounds} rounds), half each, in a scrambled order",
            ["policy"] = env.Policy ?? "unknown",
        };
        var report = ExperimentReport.Of(ReportHeader.Of("experiment", context, clock, info), results);
        await ReportWriter.WriteAsync(context.ReportDirectory, report, ReportWriter.Markdown(report), ExperimentHtml.Render(report), cancellationToken);
        Print(report);
        return report.Summary.LostTotal == 0 && report.Summary.RepeatedSideEffectsTotal == 0 ? 0 : DrillCommands.InvariantsFailed;
    }

    private async Task<PhaseResult> PhaseAsync(Phase phase, CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        var repetitions = new List<Repetition>();
        var pooled = new List<Submission>();
        var outcomes = new Dictionary<Guid, Outcome>();
        double duration = 0;
        if (await SkipReasonAsync(phase, cancellationToken) is { } skip)
        {
            context.Log($"[yellow]{Markup.Escape(phase.Name)} skipped[/]: {Markup.Escape(skip)}");
            notes.Add("skipped: " + skip);
        }
        else
        {
            // The baseline strikes nothing: one run of it is the reference.
            var count = phase.Detection == Detection.None ? 1 : settings.Repeat;
            for (var i = 1; i <= count; i++)
            {
                await WaitUntilWholeAsync(cancellationToken);
                context.Log($"[bold]{Markup.Escape(phase.Name)}[/] {i} of {count}: {Markup.Escape(phase.Fault)}.");
                var (repetition, submissions, repetitionOutcomes, durationMs) = await RepetitionAsync(phase, i, cancellationToken);
                repetitions.Add(repetition);
                pooled.AddRange(submissions);
                foreach (var (id, outcome) in repetitionOutcomes)
                {
                    outcomes[id] = outcome;
                }

                duration += durationMs;
                context.Log($"{Markup.Escape(phase.Name)} {i}: TTD {ReportWriter.Format(repetition.TtdMs)} ms, TTR {ReportWriter.Format(repetition.TtrMs)} ms, success {ReportWriter.Format(repetition.LoadTestResult.SuccessRate)}, lost {repetition.Lost}.");
            }
        }

        return ExperimentReport.Phase(phase.Name, phase.Fault, phase.DetectionText, repetitions, LoadTestResult.Of(pooled, outcomes, duration), notes);
    }

    private async Task<string?> SkipReasonAsync(Phase phase, CancellationToken cancellationToken)
    {
        if (phase.PostgreSqlOnly && !context.Env.IsPostgreSql)
        {
            return $"needs PostgreSQL; this cluster runs on {context.Env.StorageProvider}";
        }

        if (phase.Name == "crash-worker" && Worker() is null)
        {
            return "the cluster file lists no worker-only node to strike";
        }

        if (phase.NeedsFaultEndpoint && await FaultTargetAsync(cancellationToken) is null)
        {
            return "no worker takes POST /admin/faults with the admin key";
        }

        if (phase.Name == "partition-primary")
        {
            var (_, view) = await context.Api.FindPrimaryAsync(cancellationToken);
            var primary = NodeSignals.NameOf(view.Self.Id);
            if (!await faults.HasRoleAsync(primary, cancellationToken))
            {
                return $"the primary {primary} has no PostgreSQL role of its own (a cluster started by an older scripts/cluster.sh up)";
            }
        }

        return null;
    }

    private ClusterMember? Worker() => context.Env.Members.FirstOrDefault(m => !m.IsGateway);

    /// <summary>
    /// The node a worker fault goes to: a worker-only node if it takes POST /admin/faults, otherwise a backup
    /// gateway that also runs a worker (standalone): a worker-only node knows no admin key, which the fault
    /// endpoint asks for.
    /// </summary>
    private async Task<ClusterMember?> FaultTargetAsync(CancellationToken cancellationToken)
    {
        var (primary, _) = await context.Api.FindPrimaryAsync(cancellationToken);
        var candidates = context.Env.Members.Where(m => !m.IsGateway).Concat(context.Env.Members.Where(m => m.IsGateway && m.Url != primary));
        foreach (var member in candidates)
        {
            if (await faults.AcceptsAsync(member.Url, cancellationToken))
            {
                return member;
            }
        }

        return null;
    }

    private async Task<(Repetition Repetition, IReadOnlyList<Submission> Submissions, Dictionary<Guid, Outcome> Outcomes, double DurationMs)> RepetitionAsync(
        Phase phase, int number, CancellationToken cancellationToken)
    {
        var (primaryUrl, view) = await context.Api.FindPrimaryAsync(cancellationToken);
        var epochBefore = view.Lease?.Epoch ?? 0;
        var primaryName = NodeSignals.NameOf(view.Self.Id);
        var worker = phase.NeedsFaultEndpoint ? await FaultTargetAsync(cancellationToken) : Worker();
        var workerId = worker is null ? null : view.Nodes.FirstOrDefault(n => n.Live && NodeSignals.NameOf(n.Id) == worker.Name)?.Id;
        var struck = phase.Detection switch
        {
            Detection.PrimarySuspected => primaryName,
            Detection.WorkerOutOfRotation or Detection.WorkerQuarantined => worker!.Name,
            _ => null,
        };
        IReadOnlyList<int> tree = phase.Name is "crash-worker" or "crash-primary" or "pause-primary"
            ? await NodeSignals.TreeAsync(await context.Signals.PidAsync(struck!, cancellationToken), cancellationToken)
            : [];

        await using var run = DrillRun.Start(context);
        var clock = run.Clock;
        var tasks = (int)Math.Ceiling(settings.Rate * (settings.Before + settings.Window).TotalSeconds);
        var loadRun = run.Load.RunAsync(
            tasks,
            settings.Rate,
            i => TaskMix.IsFirstKind(i, 0.5) ? run.Callback() : new TaskSpec("hash", new { data = $"experiment-{i}", rounds = HashRounds }),
            cancellationToken,
            settings.Before + settings.Window + TimeSpan.FromSeconds(30));
        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = WatchAsync(clock, workerId, stopWatching.Token);

        await Task.WhenAny(run.Load.WhenStartedAsync((int)(settings.Rate * settings.Before.TotalSeconds), cancellationToken), loadRun);
        double? strikeMs = null;
        var inWindow = Task.CompletedTask;
        if (phase.Detection != Detection.None)
        {
            strikeMs = clock.NowMs;
            inWindow = await StrikeAsync(phase, tree, worker, primaryName, run, cancellationToken);
            run.Markers.Add(new Marker(strikeMs.Value, $"strike: {phase.Name}"));
        }

        var submissions = await loadRun;
        await inWindow;
        await stopWatching.CancelAsync();
        var snapshots = await watch;
        var durationMs = clock.NowMs;
        var disrupted = phase.Detection == Detection.PrimarySuspected ? primaryUrl.GetLeftPart(UriPartial.Authority) : null;
        var drained = await run.DrainAsync(submissions, strikeMs, disrupted, settings.DrainTimeout, cancellationToken);
        var outcomes = Outcomes(drained.Tasks.Values, clock);
        var notes = new List<string>(run.Notes);
        if (phase.NeedsFaultEndpoint && worker is { IsGateway: true })
        {
            notes.Add($"The fault went to {worker.Name}, a backup that also runs a worker: the worker-only nodes take no admin key, which POST /admin/faults asks for.");
        }

        double? detectedMs = strikeMs is { } at ? await DetectedAsync(phase, at, epochBefore, workerId, snapshots, run, notes, cancellationToken) : null;
        var ttr = strikeMs is { } s ? Recovery.TimeToRecover(submissions, outcomes, s, new RecoveryCriteria()) : null;
        if (detectedMs is { } detected)
        {
            run.Markers.Add(new Marker(detected, "detected"));
        }

        if (ttr is { } recovered)
        {
            run.Markers.Add(new Marker(strikeMs!.Value + recovered, "recovered"));
        }

        await RestoreAsync(phase, struck, worker, cancellationToken);
        var figures = drained.Figures;
        var repetition = new Repetition(
            number,
            struck,
            strikeMs is { } strike ? Math.Round(strike, 1) : null,
            detectedMs is { } d ? Math.Round(d - strikeMs!.Value, 1) : null,
            ttr,
            LoadTestResult.Of(submissions, outcomes, durationMs),
            figures.Submitted,
            figures.Acknowledged,
            figures.Succeeded,
            drained.Tasks.Values.Count(t => t.Type == "hash" && t.Status == "Succeeded" && !CorrectHash(t)),
            figures.Lost,
            figures.Duplicates,
            figures.RepeatedAttempts,
            run.Timeline(submissions),
            [.. run.Markers],
            notes);
        return (repetition, submissions, outcomes, durationMs);
    }

    /// <summary>Strikes; returns what of the fault still runs inside the window (the SIGCONT, the database's start, the reconnection).</summary>
    private async Task<Task> StrikeAsync(Phase phase, IReadOnlyList<int> tree, ClusterMember? worker, string primary, DrillRun run, CancellationToken cancellationToken)
    {
        switch (phase.Name)
        {
            case "crash-worker":
            case "crash-primary":
                NodeSignals.Send(tree, Signal.Kill);
                return Task.CompletedTask;
            case "pause-primary":
                NodeSignals.Send(tree, Signal.Stop);
                return LaterAsync(PauseFor, () => { NodeSignals.Send(tree, Signal.Continue); run.Mark("SIGCONT"); return Task.CompletedTask; }, cancellationToken);
            case "latency":
                await faults.SetAsync(worker!.Url, "latency", LatencyMs, cancellationToken);
                return Task.CompletedTask;
            case "intermittent":
                await faults.SetAsync(worker!.Url, "error-rate", ErrorRate, cancellationToken);
                return Task.CompletedTask;
            case "incorrect":
                await faults.SetAsync(worker!.Url, "incorrect", true, cancellationToken);
                return Task.CompletedTask;
            case "database-restart":
                await script.StopDatabaseAsync(cancellationToken);
                return LaterAsync(DatabaseDownFor, async () => { await script.StartDatabaseAsync(cancellationToken); run.Mark("database started"); }, cancellationToken);
            case "partition-primary":
                var ended = await faults.CutOffAsync(primary, cancellationToken);
                run.Notes.Add($"{primary}'s role refused logins; {ended} of its sessions ended.");
                return PartitionAsync(primary, run, cancellationToken);
            default:
                throw new ArgumentOutOfRangeException(nameof(phase), phase.Name, "no strike for this phase");
        }
    }

    private async Task PartitionAsync(string primary, DrillRun run, CancellationToken cancellationToken)
    {
        var until = run.Clock.NowMs + PartitionFor.TotalMilliseconds;
        while (run.Clock.NowMs < until)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            await faults.EndSessionsAsync(primary, cancellationToken);
        }

        await faults.ReconnectAsync(primary, cancellationToken);
        run.Mark("partition healed");
    }

    private static async Task LaterAsync(TimeSpan delay, Func<Task> action, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken);
        await action();
    }

    /// <summary>Puts the struck node back: a killed node started again, a fault cleared (the incorrect worker also restarted: a quarantine outlives the fault).</summary>
    private async Task RestoreAsync(Phase phase, string? struck, ClusterMember? worker, CancellationToken cancellationToken)
    {
        switch (phase.Name)
        {
            case "crash-worker":
            case "crash-primary":
                await script.RestartAsync(struck!, cancellationToken);
                break;
            case "latency":
            case "intermittent":
                await faults.SetAsync(worker!.Url, "clear", null, cancellationToken);
                break;
            case "incorrect":
                await faults.SetAsync(worker!.Url, "clear", null, cancellationToken);
                await context.Signals.StopAsync(worker.Name, StopGrace, cancellationToken);
                await script.RestartAsync(worker.Name, cancellationToken);
                break;
        }
    }

    /// <summary>When (ms since the repetition's start) the cluster's own records show it noticed; null when they never do.</summary>
    private async Task<double?> DetectedAsync(
        Phase phase, double strikeMs, long epochBefore, string? workerId, IReadOnlyList<WorkerSnapshot> snapshots, DrillRun run, List<string> notes, CancellationToken cancellationToken)
    {
        switch (phase.Detection)
        {
            case Detection.WorkerOutOfRotation:
                return snapshots.FirstOrDefault(s => s.AtMs >= strikeMs && !s.InRotation)?.AtMs;
            case Detection.WorkerQuarantined:
                if (snapshots.All(s => s.Quarantined is null))
                {
                    notes.Add("GET /cluster reports no 'quarantined' field on nodes: TTD is null until the cluster reports quarantine.");
                    return null;
                }

                return snapshots.FirstOrDefault(s => s.AtMs >= strikeMs && s.Quarantined == true)?.AtMs;
            case Detection.StorageUnavailable:
                var first = run.Recorder.FailedAttempts.Where(f => f.Ms >= strikeMs && f.Reason == StorageUnavailable).Select(f => f.Ms).DefaultIfEmpty(double.NaN).Min();
                return double.IsNaN(first) ? null : first;
            case Detection.PrimarySuspected:
                var failover = await FailoverAfterAsync(epochBefore, cancellationToken);
                if (failover?.SuspectedAt is not { } suspected)
                {
                    notes.Add(failover is null ? "No failover record with a newer epoch." : $"The failover to epoch {failover.Epoch} records no suspicion.");
                    return null;
                }

                var at = run.Clock.FromWall(suspected);
                if (at < strikeMs)
                {
                    notes.Add($"The backup suspected the primary {strikeMs - at:0} ms before the strike (a false suspicion).");
                }

                return at;
            default:
                return null;
        }
    }

    private async Task<FailoverView?> FailoverAfterAsync(long epochBefore, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            foreach (var gateway in context.Env.Gateways)
            {
                var view = await context.Api.GetClusterAsync(gateway, cancellationToken);
                if (view?.Failovers.Where(f => f.Epoch > epochBefore).OrderBy(f => f.Epoch).FirstOrDefault() is { } failover)
                {
                    return failover;
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }

        return null;
    }

    /// <summary>The struck worker as the primary of the moment sees it, every <see cref="WatchInterval"/>, until stopped.</summary>
    private async Task<IReadOnlyList<WorkerSnapshot>> WatchAsync(RunClock clock, string? workerId, CancellationToken stop)
    {
        var snapshots = new List<WorkerSnapshot>();
        if (workerId is null)
        {
            return snapshots;
        }

        try
        {
            while (true)
            {
                var views = await Task.WhenAll(context.Env.Gateways.Select(g => context.Api.GetClusterAsync(g, stop)));
                if (views.FirstOrDefault(v => v?.Self.IsPrimary == true) is { } view)
                {
                    var node = view.Nodes.FirstOrDefault(n => n.Id == workerId);
                    snapshots.Add(new WorkerSnapshot(clock.NowMs, node is not null && node.Live && node.Routed != false, node?.Quarantined));
                }

                await Task.Delay(WatchInterval, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return snapshots;
        }
    }

    /// <summary>Until one gateway is primary, the others backups, and every node is live and routed again; then a settle.</summary>
    private async Task WaitUntilWholeAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ReadyTimeout);
        try
        {
            while (!await WholeAsync(deadline.Token))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token);
            }

            await Task.Delay(Settle, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DrillException($"The cluster was not whole again within {ReadyTimeout.TotalSeconds:0} s (a primary, live backups, every worker routed).");
        }
    }

    private async Task<bool> WholeAsync(CancellationToken cancellationToken)
    {
        var env = context.Env;
        var primaries = 0;
        foreach (var gateway in env.Gateways)
        {
            switch (await context.Api.HealthAsync(gateway, "primary", TimeSpan.FromSeconds(1), cancellationToken))
            {
                case HttpStatusCode.OK:
                    primaries++;
                    break;
                case HttpStatusCode.ServiceUnavailable:
                    break;
                default:
                    return false;
            }
        }

        if (primaries != 1)
        {
            return false;
        }

        // Standalone nodes run a worker too: every node must be live and routed again, none quarantined.
        var (_, view) = await context.Api.FindPrimaryAsync(cancellationToken);
        return env.Members.All(m => view.Nodes.Any(n => NodeSignals.NameOf(n.Id) == m.Name && n.Live && n.Routed != false && n.Quarantined != true));
    }

    private static Dictionary<Guid, Outcome> Outcomes(IEnumerable<TaskInfo> tasks, RunClock clock) =>
        tasks.ToDictionary(
            t => t.Id,
            t => new Outcome(t.FinishedAt is { } finished ? clock.FromWall(finished) : null, t.Status == "Succeeded" && (t.Type != "hash" || CorrectHash(t))));

    private static bool CorrectHash(TaskInfo task) => ExpectedResults.HashMatches(task.Payload, task.Result);

    private void Print(ExperimentReport report)
    {
        var table = new Table().Title($"experiment ({report.ExperimentInfo.Storage})").AddColumns("phase", "TTD ms p50 / max", "TTR ms p50 / max", "rps", "p95 ms", "success", "lost", "repeated");
        foreach (var phase in report.Results)
        {
            table.AddRow(
                Markup.Escape(phase.Phase),
                $"{ReportWriter.Format(phase.TtdMs.P50)} / {ReportWriter.Format(phase.TtdMs.Max)}",
                $"{ReportWriter.Format(phase.TtrMs.P50)} / {ReportWriter.Format(phase.TtrMs.Max)}",
                ReportWriter.Format(phase.LoadTestResult.Rps),
                ReportWriter.Format(phase.LoadTestResult.P95LatencyMs),
                ReportWriter.Format(phase.LoadTestResult.SuccessRate),
                phase.Lost.ToString(CultureInfo.InvariantCulture),
                phase.RepeatedSideEffects.ToString(CultureInfo.InvariantCulture));
        }

        context.Console.Write(table);
        context.Console.MarkupLine($"Report in [blue]{Markup.Escape(context.ReportDirectory)}[/] (report.json, report.md, report.html).");
    }
}

/// <summary>The struck worker in the primary's GET /cluster at one moment (ms since the repetition's start).</summary>
internal sealed record WorkerSnapshot(double AtMs, bool InRotation, bool? Quarantined);
