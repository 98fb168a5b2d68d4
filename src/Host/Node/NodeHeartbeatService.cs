using Microsoft.Extensions.Options;
using TaskServer.Host.Faults;
using TaskServer.Host.Quarantine;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Node;

/// <summary>
/// Writes this node's heartbeat every <see cref="NodeOptions.HeartbeatInterval"/>, and at once when its shutdown
/// begins (so it leaves rotation without waiting for a tick). A worker reports its load as the store counts it (its
/// Queued and Running tasks), so the figure survives nothing but the truth, and whether it is draining. The same count
/// tells a worker of due tasks it did not insert itself (the primary moved them onto it, or a retry's backoff ended):
/// it raises <see cref="TaskArrivals"/> for them. Once the worker has left the registry it beats no more: a beat would
/// bring it back. The service is registered before the drain, so it stops after it: the heartbeat goes on while
/// attempts finish in the shutdown grace, and the primary does not take them for lost.
/// </summary>
internal sealed partial class NodeHeartbeatService(
    INodeRegistry registry,
    NodeIdentity node,
    FaultState faults,
    TaskArrivals arrivals,
    LastHeartbeat lastHeartbeat,
    StorageContact storageContact,
    ResultQuarantine quarantine,
    WorkerShutdown shutdown,
    IOptions<NodeOptions> options,
    TimeProvider timeProvider,
    ILogger<NodeHeartbeatService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.HeartbeatInterval, timeProvider);
        var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
        while (!shutdown.Left)
        {
            var seenShutdown = shutdown.Changed.Version;
            if (!faults.Current.HeartbeatsPaused)
            {
                try
                {
                    var sentAt = timeProvider.GetTimestamp();
                    await BeatAsync(settings, stoppingToken);
                    lastHeartbeat.Taken(sentAt);
                    storageContact.Succeeded();
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    storageContact.Failed();
                    LogHeartbeatFailed(node.Id, exception);
                }
            }

            var changed = shutdown.Changed.WhenRaisedAfter(seenShutdown);
            if (await Task.WhenAny(tick, changed) == tick)
            {
                if (!await tick)
                {
                    return;
                }

                tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
            }
        }
    }

    private async Task BeatAsync(NodeOptions settings, CancellationToken cancellationToken)
    {
        if (!settings.RunsWorker)
        {
            await registry.HeartbeatAsync(new NodeHeartbeat(node.Id, node.Role, node.InternalUrl, default), cancellationToken);
            return;
        }

        var load = new NodeLoad(0, 0, settings.Capacity, quarantine.IsQuarantined, shutdown.Draining);
        var active = await registry.HeartbeatWithLoadAsync(new NodeHeartbeat(node.Id, node.Role, node.InternalUrl, load), cancellationToken);
        if (active.Due > 0)
        {
            arrivals.Raise();
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Heartbeat of {Node} failed")]
    private partial void LogHeartbeatFailed(string node, Exception exception);
}
