using Spectre.Console;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Scenarios;

/// <summary>
/// kill-worker: sleep and callback tasks stream in; once the chosen worker is running some, it gets
/// SIGKILL. The primary's sweeper must requeue its orphans onto live workers: nothing lost, and some
/// tasks finish on a second attempt.
/// </summary>
internal sealed class KillWorkerDrill(DrillContext context, LoadSettings settings, string workerName)
{
    private const int SleepMs = 2000;
    private static readonly TimeSpan RunningWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan EvictionWatch = TimeSpan.FromSeconds(60);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var env = context.Env;
        var (primaryUrl, view) = await context.Api.FindPrimaryAsync(cancellationToken);
        var victim = view.Nodes.FirstOrDefault(n => NodeSignals.NameOf(n.Id) == workerName && n.Live)
            ?? throw new DrillException($"No live node named '{workerName}' in {primaryUrl}cluster (nodes: {string.Join(", ", view.Nodes.Select(n => n.Id))}).");
        var pid = await context.Signals.PidAsync(workerName, cancellationToken);

        // Read beforehand: on a loaded machine a walk through /proc takes long enough to delay the strike.
        var tree = await NodeSignals.TreeAsync(pid, cancellationToken);
        context.Log($"Victim {Markup.Escape(victim.Id)} at {Markup.Escape(victim.Url)} (pid {pid}); primary {Markup.Escape(view.Self.Id)} at {primaryUrl}.");

        await using var run = DrillRun.Start(context);
        var clock = run.Clock;

        // Two sleeps (long enough to be caught running) to one callback (whose side effects are counted), mixed so that
        // every worker gets both: a victim that only ever ran callbacks would have nothing running to orphan.
        var loadRun = run.Load.RunAsync(
            settings.Tasks,
            settings.Rate,
            i => TaskMix.IsFirstKind(i, 2.0 / 3) ? new TaskSpec("sleep", new { ms = SleepMs }) : run.Callback(),
            cancellationToken);
        await run.StrikePointAsync(settings, loadRun, cancellationToken);

        var busy = await WaitUntilRunningAsync(primaryUrl, victim.Id, cancellationToken);
        if (busy is null)
        {
            run.Notes.Add($"{victim.Id} showed no running task within {RunningWait.TotalSeconds:0} s; killed anyway.");
        }

        var struckMs = clock.NowMs;
        NodeSignals.Send(tree, Signal.Kill);
        run.Markers.Add(new Marker(struckMs, $"SIGKILL {workerName}"));
        context.Log($"[red]SIGKILL[/] {Markup.Escape(victim.Id)} (pid {pid}) with {busy?.Running ?? 0} running, {busy?.Queued ?? 0} queued.");

        var evictedMs = await WatchEvictionAsync(primaryUrl, victim.Id, clock, cancellationToken);
        if (evictedMs is { } evicted)
        {
            run.Markers.Add(new Marker(evicted, "orphans requeued"));
            context.Log($"[green]Requeued[/]: {Markup.Escape(victim.Id)} left the registry {evicted - struckMs:0} ms after the kill.");
        }
        else
        {
            run.Notes.Add($"{victim.Id} was still in the registry {EvictionWatch.TotalSeconds:0} s after the kill.");
        }

        var submissions = await loadRun;
        var drained = await run.DrainAsync(submissions, struckMs, disruptedGateway: null, settings.DrainTimeout, cancellationToken);
        var figures = drained.Figures;
        var stillOnVictim = drained.Tasks.Values.Count(t => t.Worker == victim.Id);

        var invariants = new List<Invariant>
        {
            new("orphans requeued", figures.Requeued > 0, $"{figures.Requeued} tasks finished on a later attempt; {stillOnVictim} still name the dead worker"),
        };
        invariants.AddRange(DrillRun.NothingLostOrRepeated(figures));
        var runSettings = settings.Describe();
        runSettings["worker"] = workerName;
        runSettings["task_types"] = $"sleep {SleepMs} ms twice, then a callback";
        var report = DrillReport.Of(ReportHeader.Of("kill-worker", context, clock, runSettings), figures, run.Recorder, new DrillTarget("SIGKILL", workerName, victim.Id, pid, victim.Url), invariants, run.Notes) with
        {
            OrphansRequeuedMs = evictedMs is { } e ? Math.Round(e - struckMs, 1) : null,
        };

        await run.WriteAsync(context.ReportDirectory, report, submissions, $"kill-worker: {env.StorageProvider}, {settings.Rate:0.#} tasks/s", cancellationToken);
        Summary.Print(context, report);
        return report.Passed ? 0 : DrillCommands.InvariantsFailed;
    }

    /// <summary>The victim's load once it is running something (so the kill orphans real work), or null if it never did in time.</summary>
    private async Task<NodeView?> WaitUntilRunningAsync(Uri primaryUrl, string victimId, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RunningWait);
        try
        {
            while (true)
            {
                var node = (await context.Api.GetClusterAsync(primaryUrl, deadline.Token))?.Nodes.FirstOrDefault(n => n.Id == victimId);
                if (node is { Running: > 0 })
                {
                    return node;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// When the dead worker left the registry: the sweeper evicts a dead worker once it owns nothing, so
    /// this is the moment its last orphan was requeued.
    /// </summary>
    private async Task<double?> WatchEvictionAsync(Uri primaryUrl, string victimId, RunClock clock, CancellationToken cancellationToken)
    {
        var until = clock.NowMs + EvictionWatch.TotalMilliseconds;
        while (clock.NowMs < until)
        {
            var view = await context.Api.GetClusterAsync(primaryUrl, cancellationToken);
            if (view is not null && view.Nodes.All(n => n.Id != victimId))
            {
                return clock.NowMs;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }

        return null;
    }
}
