using System.Globalization;
using System.Net;
using Spectre.Console;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Scenarios;

/// <summary>
/// kill-primary and pause-primary: callback tasks stream in through the failover-aware client while
/// the primary gateway is struck a third of the way through (SIGKILL, or SIGSTOP for a while then
/// SIGCONT); the backup must take over and every acknowledged task must end final.
/// </summary>
internal sealed class GatewayDrill(DrillContext context, LoadSettings settings, TimeSpan? pause)
{
    private static readonly TimeSpan PromotionWatch = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PromotionPoll = TimeSpan.FromMilliseconds(50);

    private string Scenario => pause is null ? "kill-primary" : "pause-primary";

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var run = await RunOnceAsync(context.ReportDirectory, cancellationToken);
        Summary.Print(context, run.Report);
        return run.Report.Passed ? 0 : DrillCommands.InvariantsFailed;
    }

    /// <summary>One drill: strike the primary under load, watch the takeover, drain, and write the report into <paramref name="directory"/>.</summary>
    public async Task<GatewayRunRecord> RunOnceAsync(string directory, CancellationToken cancellationToken)
    {
        var env = context.Env;
        if (env.Gateways.Count < 2)
        {
            throw new DrillException($"{Scenario} needs two gateways; GATEWAYS in {env.Source} lists {env.Gateways.Count}.");
        }

        var (primaryUrl, before) = await context.Api.FindPrimaryAsync(cancellationToken);
        var backupUrl = env.Gateways.First(g => g != primaryUrl);
        var backup = await context.Api.GetClusterAsync(backupUrl, cancellationToken) ?? throw new DrillException($"The backup {backupUrl} does not answer GET /cluster.");
        var epochBefore = before.Lease?.Epoch ?? throw new DrillException($"{primaryUrl} is primary but reports no lease.");
        var victim = NodeSignals.NameOf(before.Self.Id);
        var pid = await context.Signals.PidAsync(victim, cancellationToken);
        var target = new DrillTarget(pause is null ? "SIGKILL" : $"SIGSTOP for {pause.Value.TotalSeconds:0.#} s, then SIGCONT", victim, before.Self.Id, pid, primaryUrl.ToString());
        context.Log($"Primary {Markup.Escape(before.Self.Id)} at {primaryUrl} (pid {pid}, epoch {epochBefore}); backup {Markup.Escape(backup.Self.Id)} at {backupUrl}.");

        await using var run = DrillRun.Start(context);
        var clock = run.Clock;
        var notes = run.Notes;
        var loadRun = run.Load.RunAsync(settings.Tasks, settings.Rate, _ => run.Callback(), cancellationToken);
        var strike = StrikeAsync(run, loadRun, pid, primaryUrl, backupUrl, cancellationToken);
        var submissions = await ShowProgressAsync(run.Load, loadRun, strike);
        var (struckMs, promotedMs, steppedDown) = await strike;

        var after = await ReadClusterAsync(backupUrl, epochBefore, cancellationToken);
        var failover = after?.Failovers.Where(f => f.Epoch > epochBefore).OrderBy(f => f.Epoch).FirstOrDefault();
        if (after is null)
        {
            notes.Add($"The backup {backupUrl} did not answer GET /cluster after the strike; the failover event is missing.");
        }

        var figures = (await run.DrainAsync(submissions, struckMs, primaryUrl.GetLeftPart(UriPartial.Authority), settings.DrainTimeout, cancellationToken)).Figures;
        var ttdMs = failover?.SuspectedAt is { } suspected ? Math.Round(clock.FromWall(suspected) - struckMs, 1) : (double?)null;
        if (ttdMs < 0)
        {
            notes.Add($"The backup suspected the primary {-ttdMs:0} ms before the strike: its probes were already failing (a loaded machine, a long pause), so that failover event dates from before the strike.");
        }

        var changes = after?.Failovers.Count(f => f.Epoch > epochBefore) ?? 0;
        if (changes > 1)
        {
            notes.Add($"{changes} changes of primary after the strike (epochs {string.Join(", ", after!.Failovers.Where(f => f.Epoch > epochBefore).OrderBy(f => f.Epoch).Select(f => $"{f.Epoch}:{f.NewHolder}"))}): the new primary lost its lease and took it again.");
        }

        var promoted = promotedMs is not null && failover is not null && failover.NewHolder == backup.Self.Id;
        var invariants = new List<Invariant>
        {
            new("promoted", promoted, promoted
                ? $"{failover!.NewHolder} holds epoch {failover.Epoch}"
                : $"backup /health/primary {(promotedMs is null ? "never answered 200" : "answered 200")}; failover event {(failover is null ? "missing" : $"names {failover.NewHolder}")}"),
        };
        invariants.AddRange(DrillRun.NothingLostOrRepeated(figures));
        if (pause is not null)
        {
            invariants.Add(OnePrimaryPerEpoch(after, epochBefore));
            invariants.Add(new("paused primary woke as a backup", steppedDown == true, steppedDown switch
            {
                true => $"{primaryUrl} /health/primary answers 503 after SIGCONT",
                false => $"{primaryUrl} /health/primary answers 200 after SIGCONT: two primaries",
                null => $"{primaryUrl} did not answer after SIGCONT",
            }));
        }

        var report = DrillReport.Of(ReportHeader.Of(Scenario, context, clock, Settings()), figures, run.Recorder, target, invariants, notes) with
        {
            Promoted = promoted,
            TtdMs = ttdMs,
            TtdProbeMs = failover?.TtdMs is { } ttd ? Math.Round(ttd, 1) : null,
            PromotedAfterMs = failover?.PromotedAfterMs is { } promotedAfter ? Math.Round(promotedAfter, 1) : null,
            PromotionObservedMs = promotedMs is { } observed ? Math.Round(observed - struckMs, 1) : null,
            TtrMs = figures.TtrMs,
            Failover = new FailoverRecord(
                epochBefore,
                failover?.Epoch,
                before.Self.Id,
                failover?.NewHolder,
                failover?.SuspectedAt,
                failover?.PromotedAt,
                after is null ? [] : [.. after.Failovers.OrderBy(f => f.Epoch).Select(f => new EpochHolder(f.Epoch, f.NewHolder))]),
        };

        await run.WriteAsync(directory, report, submissions, $"{Scenario}: {env.StorageProvider}, {settings.Rate:0.#} tasks/s", cancellationToken);
        return new GatewayRunRecord(report, run.Timeline(submissions), [.. run.Markers], victim);
    }

    /// <summary>Epochs rise one holder at a time: every failover event has its own, higher epoch, and the lease holds the last.</summary>
    private static Invariant OnePrimaryPerEpoch(ClusterView? after, long epochBefore)
    {
        if (after is null)
        {
            return new("one primary per epoch", false, "no GET /cluster answer to check it against");
        }

        var events = after.Failovers.OrderBy(f => f.PromotedAt).ToList();
        var increasing = events.Zip(events.Skip(1)).All(pair => pair.Second.Epoch > pair.First.Epoch);
        var unique = events.GroupBy(f => f.Epoch).All(g => g.Select(f => f.NewHolder).Distinct().Count() == 1 && g.Count() == 1);
        var latest = events.Count == 0 ? null : events[^1];
        var leaseAgrees = after.Lease is not null && latest is not null && after.Lease.Epoch == latest.Epoch && after.Lease.Holder == latest.NewHolder;
        var newer = events.Count(f => f.Epoch > epochBefore);
        return new(
            "one primary per epoch",
            increasing && unique && leaseAgrees && newer >= 1,
            $"epochs {string.Join(" -> ", events.Select(f => $"{f.Epoch}:{f.NewHolder}"))}; lease {after.Lease?.Epoch}:{after.Lease?.Holder}; strictly increasing {increasing}, one holder each {unique}");
    }

    private async Task<(double StruckMs, double? PromotedMs, bool? SteppedDown)> StrikeAsync(
        DrillRun run, Task loadRun, int pid, Uri primaryUrl, Uri backupUrl, CancellationToken cancellationToken)
    {
        var (load, clock, markers) = (run.Load, run.Clock, run.Markers);

        // Read beforehand: on a loaded machine a walk through /proc takes long enough to delay the strike.
        var tree = await NodeSignals.TreeAsync(pid, cancellationToken);

        // A third of the way through: enough acknowledgements before the strike to see the outage against.
        await run.StrikePointAsync(settings, loadRun, cancellationToken);
        double struckMs;
        if (pause is null)
        {
            struckMs = clock.NowMs;
            NodeSignals.Send(tree, Signal.Kill);
            context.Log($"[red]SIGKILL[/] pid {pid} after {load.Started} submissions.");
            markers.Add(new Marker(struckMs, "SIGKILL primary"));
        }
        else
        {
            struckMs = clock.NowMs;
            NodeSignals.Send(tree, Signal.Stop);
            context.Log($"[yellow]SIGSTOP[/] pid {pid} after {load.Started} submissions, for {pause.Value.TotalSeconds:0.#} s.");
            markers.Add(new Marker(struckMs, "SIGSTOP primary"));
        }

        var watch = WatchPromotionAsync(backupUrl, clock, cancellationToken);
        bool? steppedDown = null;
        if (pause is { } duration)
        {
            await Task.Delay(duration, cancellationToken);
            markers.Add(new Marker(clock.NowMs, "SIGCONT"));
            NodeSignals.Send(tree, Signal.Continue);
            context.Log($"[yellow]SIGCONT[/] pid {pid}.");
            steppedDown = await SteppedDownAsync(primaryUrl, cancellationToken);
        }

        var promotedMs = await watch;
        if (promotedMs is { } at)
        {
            markers.Add(new Marker(at, "backup promoted"));
            context.Log($"[green]Promoted[/]: the backup answers /health/primary 200, {at - struckMs:0} ms after the strike.");
        }
        else
        {
            context.Log($"[red]No promotion[/] within {PromotionWatch.TotalSeconds:0} s.");
        }

        return (struckMs, promotedMs, steppedDown);
    }

    /// <summary>When (ms since the start) the backup's /health/primary first answered 200, or null if it never did in time.</summary>
    private async Task<double?> WatchPromotionAsync(Uri backupUrl, RunClock clock, CancellationToken cancellationToken)
    {
        var until = clock.NowMs + PromotionWatch.TotalMilliseconds;
        while (clock.NowMs < until)
        {
            if (await context.Api.HealthAsync(backupUrl, "primary", TimeSpan.FromMilliseconds(500), cancellationToken) == HttpStatusCode.OK)
            {
                return clock.NowMs;
            }

            await Task.Delay(PromotionPoll, cancellationToken);
        }

        return null;
    }

    /// <summary>The first answer of the resumed primary's /health/primary: anything but 200 means it woke as a backup.</summary>
    private async Task<bool?> SteppedDownAsync(Uri primaryUrl, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 100; i++)
        {
            if (await context.Api.HealthAsync(primaryUrl, "primary", TimeSpan.FromSeconds(1), cancellationToken) is { } status)
            {
                return status != HttpStatusCode.OK;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        return null;
    }

    /// <summary>The new primary's view once it records a newer epoch (the event may land just after /health/primary turns 200).</summary>
    private async Task<ClusterView?> ReadClusterAsync(Uri gateway, long epochBefore, CancellationToken cancellationToken)
    {
        ClusterView? view = null;
        for (var i = 0; i < 40; i++)
        {
            view = await context.Api.GetClusterAsync(gateway, cancellationToken) ?? view;
            if (view?.Failovers.Any(f => f.Epoch > epochBefore) == true)
            {
                return view;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }

        return view;
    }

    private async Task<IReadOnlyList<Submission>> ShowProgressAsync(SubmissionLoad load, Task<IReadOnlyList<Submission>> loadRun, Task strike)
    {
        await context.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var sent = progress.AddTask("submitted", maxValue: settings.Tasks);
                var acknowledged = progress.AddTask("acknowledged", maxValue: settings.Tasks);
                while (!loadRun.IsCompleted || !strike.IsCompleted)
                {
                    sent.Value = load.Started;
                    acknowledged.Value = load.Acknowledged;
                    await Task.WhenAny(Task.WhenAll(loadRun, strike), Task.Delay(TimeSpan.FromMilliseconds(200)));
                }

                sent.Value = load.Started;
                acknowledged.Value = load.Acknowledged;
            });
        return await loadRun;
    }

    private Dictionary<string, string> Settings()
    {
        var values = settings.Describe();
        values["task_type"] = "callback";
        if (pause is { } duration)
        {
            values["pause_s"] = duration.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        }

        return values;
    }
}
