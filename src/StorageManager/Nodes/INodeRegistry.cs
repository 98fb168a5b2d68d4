using TaskServer.StorageManager.Leases;

namespace TaskServer.StorageManager.Nodes;

/// <summary>Which nodes exist and how loaded they are. Liveness is judged by the database clock.</summary>
public interface INodeRegistry
{
    /// <summary>Registers the node or refreshes its heartbeat and load.</summary>
    Task HeartbeatAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken);

    /// <summary>
    /// A worker's heartbeat with its load counted by the store from its tasks (the <see cref="NodeLoad.Queued"/> and
    /// <see cref="NodeLoad.Running"/> given are ignored), in one write where the provider allows; returns the counts.
    /// </summary>
    Task<Tasks.ActiveCounts> HeartbeatWithLoadAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken);

    Task<IReadOnlyList<NodeRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Nodes whose last heartbeat is younger than <paramref name="timeout"/>.</summary>
    Task<IReadOnlyList<NodeRecord>> ListLiveAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// Removes a node whose heartbeat is older than <paramref name="timeout"/> and that owns no Queued or Running task,
    /// both judged in the same write (a task handed to it meanwhile keeps it in the registry). Primary only: fenced.
    /// </summary>
    Task<EvictOutcome> EvictAsync(string nodeId, TimeSpan timeout, Fence fence, CancellationToken cancellationToken);

    /// <summary>
    /// A node that is stopping removes itself: whatever it still owns is then owned by no live node, and the primary's
    /// next rescue takes it at once rather than after the worker timeout.
    /// </summary>
    Task LeaveAsync(string nodeId, CancellationToken cancellationToken);
}
