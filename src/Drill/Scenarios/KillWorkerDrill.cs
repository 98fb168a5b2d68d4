using System.Globalization;
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

        await using var sink = CallbackSink.Start();
        var clock = new RunClock(context.Time);
        using var recorder = new AckRecorder(clock);
        using var client = context.NewClient(recorder);
        var load = new SubmissionLoad(client, recorder, clock);
        var markers = new List<Marker>();
        var notes = new List<string>();

        // Half sleeps (long enough to be caught running), half callbacks (whose side effects are counted).
        var loadRun = load.RunAsync(
            settings.Tasks,
            settings.Rate,
            i => i % 2 == 0 ? new TaskSpec("sleep", new { ms = SleepMs }) : new TaskSpec("callback", new { url = sink.Url }),
            cancellationToken);
        await Task.WhenAny(load.WhenStartedAsync(Math.Max(1, settings.Tasks / 3), cancellationToken), loadRun);

        var busy = await WaitUntilRunningAsync(primaryUrl, victim.Id, cancellationToken);
        if (busy is null)
        {
            notes.Add($"{victim.Id} showed no running task within {RunningWait.TotalSeconds:0} s; killed anyway.");
        }

        var struckMs = clock.NowMs;
        NodeSignals.Send(tree, Signal.Kill);
        markers.Add(new Marker(struckMs, $"SIGKILL {workerName}"));
        context.Log($"[red]SIGKILL[/] {Markup.Escape(victim.Id)} (pid {pid}) with {busy?.Running ?? 0} running, {busy?.Queued ?? 0} queued.");

        var evictedMs = await WatchEvictionAsync(primaryUrl, victim.Id, clock, cancellationToken);
        if (evictedMs is { } evicted)
        {
            markers.Add(new Marker(evicted, "orphans requeued"));
            context.Log($"[green]Requeued[/]: {Markup.Escape(victim.Id)} left the registry {evicted - struckMs:0} ms after the kill.");
        }
        else
        {
            notes.Add($"{victim.Id} was still in the registry {EvictionWatch.TotalSeconds:0} s after the kill.");
        }

        var submissions = await loadRun;
        context.Log($"Draining {submissions.Count(s => s.Acknowledged)} acknowledged tasks (up to {settings.DrainTimeout.TotalSeconds:0} s).");
        var drained = await new Drainer(client).DrainAsync(
            submissions.Where(s => s.Acknowledged).Select(s => s.TaskId!.Value), settings.DrainTimeout, cancellationToken);
        var figures = RunFigures.Compute(
            submissions,
            drained.ToDictionary(d => d.Key, d => new ObservedTask(d.Value.Status, d.Value.Attempt)),
            sink.Calls(),
            struckMs,
            disruptedGateway: null);
        var stillOnVictim = drained.Values.Count(t => t.Worker == victim.Id);

        var invariants = new List<Invariant>
        {
            new("no acknowledged task lost", figures.Lost == 0, $"{figures.Lost} of {figures.Acknowledged} not final after the drain"),
            new("orphans requeued", figures.Requeued > 0, $"{figures.Requeued} tasks finished on a later attempt; {stillOnVictim} still name the dead worker"),
            new("no attempt repeated its side effect", figures.RepeatedAttempts == 0, $"{figures.RepeatedAttempts} tasks with an attempt that called back twice"),
            new("no task succeeded without its side effect", figures.MissingSideEffects == 0, $"{figures.MissingSideEffects} tasks"),
        };
        var runSettings = new Dictionary<string, string>
        {
            ["rate_per_s"] = settings.Rate.ToString(CultureInfo.InvariantCulture),
            ["tasks"] = settings.Tasks.ToString(CultureInfo.InvariantCulture),
            ["drain_timeout_s"] = settings.DrainTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["worker"] = workerName,
            ["task_types"] = $"sleep {SleepMs} ms and callback, alternating",
        };
        var report = DrillReport.Of("kill-worker", context, clock, runSettings, figures, recorder, new DrillTarget("SIGKILL", workerName, victim.Id, pid, victim.Url), invariants, notes) with
        {
            OrphansRequeuedMs = evictedMs is { } e ? Math.Round(e - struckMs, 1) : null,
        };

        return await Summary.FinishAsync(context, report, submissions, recorder, $"kill-worker: {env.StorageProvider}, {settings.Rate:0.#} tasks/s", markers, cancellationToken);
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
