using Microsoft.Extensions.Options;
using TaskServer.Host.Execution;
using TaskServer.Host.Faults;
using TaskServer.StorageManager;
using TaskServer.Host.Quarantine;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Node;

/// <summary>
/// Writes this node's heartbeat every <see cref="NodeOptions.HeartbeatInterval"/>. A worker reports its
/// load as the store counts it (its Queued and Running tasks), so the figure survives nothing but the truth.
/// The same count tells a worker of due tasks it did not insert itself (the primary requeued them onto it, or
/// a retry's backoff ended while no drain ran): it raises <see cref="TaskArrivals"/> for them.
/// A worker whose Hangfire server has not started its drain within <see cref="ExecutionOptions.DrainStartDeadline"/>
/// cannot run what it holds: it withholds its heartbeat until one starts, so the primary evicts it and requeues its
/// tasks onto workers that can. No attempt runs on it meanwhile (a drain that had started would have cleared the wait),
/// so nothing it holds is running twice. A failed heartbeat is recorded in <see cref="StorageContact"/>, which keeps a
/// wait the database's absence explains from counting (<see cref="TaskDrain.StartOverdue"/>).
/// </summary>
internal sealed partial class NodeHeartbeatService(
    INodeRegistry registry,
    NodeIdentity node,
    FaultState faults,
    TaskArrivals arrivals,
    StorageContact storageContact,
    ResultQuarantine quarantine,
    IOptions<NodeOptions> options,
    TimeProvider timeProvider,
    ILogger<NodeHeartbeatService> logger,
    TaskDrain? drain = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.HeartbeatInterval, timeProvider);
        var withheld = false;
        do
        {
            if (faults.Current.HeartbeatsPaused)
            {
                continue;
            }

            if (drain?.StartOverdue == true)
            {
                if (!withheld)
                {
                    LogHeartbeatWithheld(node.Id);
                    withheld = true;
                }

                continue;
            }

            if (withheld)
            {
                LogHeartbeatResumed(node.Id);
                withheld = false;
            }

            try
            {
                await BeatAsync(settings, stoppingToken);
                storageContact.Succeeded();
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                storageContact.Failed();
                LogHeartbeatFailed(node.Id, exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task BeatAsync(NodeOptions settings, CancellationToken cancellationToken)
    {
        if (!settings.RunsWorker)
        {
            await registry.HeartbeatAsync(new NodeHeartbeat(node.Id, node.Role, node.InternalUrl, default), cancellationToken);
            return;
        }

        var load = new NodeLoad(0, 0, settings.Capacity, quarantine.IsQuarantined);
        var active = await registry.HeartbeatWithLoadAsync(new NodeHeartbeat(node.Id, node.Role, node.InternalUrl, load), cancellationToken);
        if (active.Due > 0)
        {
            arrivals.Raise();
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Heartbeat of {Node} failed")]
    private partial void LogHeartbeatFailed(string node, Exception exception);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "Hangfire has not started a drain on {Node}: heartbeats withheld, so the primary moves its tasks to other workers")]
    private partial void LogHeartbeatWithheld(string node);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "A drain started on {Node}: heartbeats resumed")]
    private partial void LogHeartbeatResumed(string node);
}
