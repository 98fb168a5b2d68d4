using TaskServer.Drill.Cli;
using TaskServer.Drill.Cluster;

namespace TaskServer.Drill.Chaos;

/// <summary>
/// Starts again, every second, each node that is down while no fault holds it: what a crash task ended (and every
/// worker its requeues reached), a node that exited by itself, a restart a fault could not finish. The schedule
/// undoes its own strikes; this undoes the rest, so the cluster recovers whatever the faults did.
/// </summary>
internal sealed class NodeKeeper(DrillContext context, ClusterScript script, TargetLocks locks, ChaosLog log)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <param name="stop">Ends the rounds, but never a start under way: cut short, cluster.sh would go on starting the node unwatched.</param>
    public async Task RunAsync(CancellationToken stop, CancellationToken cancellationToken)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await RestartDownAsync(cancellationToken);
                await Task.Delay(Interval, context.Time, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The run is over: its last RestartDownAsync is the caller's.
        }
    }

    /// <summary>Starts every node that is down and held by no fault; returns the nodes still down afterwards.</summary>
    public async Task<IReadOnlyList<string>> RestartDownAsync(CancellationToken cancellationToken)
    {
        var members = context.Env.Members;
        var down = await Task.WhenAll(members.Select(m => KeepAsync(m.Name, cancellationToken)));
        return [.. members.Where((_, i) => down[i]).Select(m => m.Name)];
    }

    private async Task<bool> IsUpAsync(string node, CancellationToken cancellationToken) =>
        await context.Signals.FindPidAsync(node, cancellationToken) is { } pid && await NodeSignals.IsNodeProcessAsync(pid, cancellationToken);

    /// <summary>True when the node is down and stays so (its start failed, or a fault holds it).</summary>
    private async Task<bool> KeepAsync(string node, CancellationToken cancellationToken)
    {
        using var held = locks.TryAcquire(node);
        if (await IsUpAsync(node, cancellationToken))
        {
            return false;
        }

        if (held is null)
        {
            return true;
        }

        log.Add($"{node} is down and no fault holds it: starting it again");
        try
        {
            await script.RestartAsync(node, cancellationToken);
            log.Add($"{node} started again");
            return false;
        }
        catch (DrillException e)
        {
            log.Add($"{node} did not start again (tried again in a second): {e.Message}");
            return true;
        }
    }
}
