using Microsoft.Extensions.Options;
using TaskServer.Host.Execution;
using TaskServer.Host.Faults;
using TaskServer.StorageManager;
using TaskServer.Host.Quarantine;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Node;

/// <summary>
/// Writes this node's heartbeat every <see cref="NodeOptions.HeartbeatInterval"/>. A worker reports its
/// load as the store counts it (its Queued and Running tasks), so the figure survives nothing but the truth.
/// The same count tells a worker of due tasks it did not insert itself (the primary requeued them onto it, or
/// a retry's backoff ended while no drain ran): it raises <see cref="TaskArrivals"/> for them.
/// </summary>
internal sealed partial class NodeHeartbeatService(
    INodeRegistry registry,
    ITaskStore tasks,
    NodeIdentity node,
    FaultState faults,
    TaskArrivals arrivals,
    StorageContact storageContact,
    ResultQuarantine quarantine,
    IOptions<NodeOptions> options,
    TimeProvider timeProvider,
    ILogger<NodeHeartbeatService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.HeartbeatInterval, timeProvider);
        do
        {
            if (faults.Current.HeartbeatsPaused)
            {
                continue;
            }

            try
            {
                var load = settings.RunsWorker ? await CountLoadAsync(settings, stoppingToken) : default;
                await registry.HeartbeatAsync(new NodeHeartbeat(node.Id, node.Role, node.InternalUrl, load), stoppingToken);
                storageContact.Succeeded();
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogHeartbeatFailed(node.Id, exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<NodeLoad> CountLoadAsync(NodeOptions settings, CancellationToken cancellationToken)
    {
        var active = await tasks.CountActiveByWorkerAsync(node.Id, cancellationToken);
        if (active.Due > 0)
        {
            arrivals.Raise();
        }

        return new NodeLoad(active.Queued, active.Running, settings.Capacity, quarantine.IsQuarantined);
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Heartbeat of {Node} failed")]
    private partial void LogHeartbeatFailed(string node, Exception exception);
}
