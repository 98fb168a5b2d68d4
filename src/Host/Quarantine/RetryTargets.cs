using Microsoft.Extensions.Options;
using TaskServer.Host.Node;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Quarantine;

/// <summary>
/// Where the retry of an attempt whose result failed verification goes: a live worker other than this one that is not
/// quarantined, the least loaded by its last heartbeat (ties at random). Null when there is none, or the registry cannot
/// be read: the retry then stays here, as any retry does.
/// </summary>
public sealed partial class RetryTargets(
    INodeRegistry registry,
    NodeIdentity node,
    IOptions<NodeOptions> nodeOptions,
    StorageErrors storageErrors,
    ILogger<RetryTargets> logger)
{
    public async Task<string?> PickAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<NodeRecord> live;
        try
        {
            live = await registry.ListLiveAsync(nodeOptions.Value.WorkerTimeout, cancellationToken);
        }
        catch (Exception exception) when (storageErrors.IsUnavailable(exception))
        {
            LogRegistryUnavailable(exception);
            return null;
        }

        return Choose(live, node.Id);
    }

    internal static string? Choose(IReadOnlyList<NodeRecord> live, string self) =>
        live.Where(n => n.Role is NodeRole.Worker or NodeRole.Standalone && n.NodeId != self && !n.Load.Quarantined)
            .OrderBy(n => (double)(n.Load.Queued + n.Load.Running) / Math.Max(1, n.Load.Capacity))
            .ThenBy(_ => Random.Shared.Next())
            .Select(n => n.NodeId)
            .FirstOrDefault();

    [LoggerMessage(EventId = 132, Level = LogLevel.Warning, Message = "Could not read the live workers for a retry elsewhere: it stays on this worker")]
    private partial void LogRegistryUnavailable(Exception exception);
}
