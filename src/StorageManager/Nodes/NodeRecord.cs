namespace TaskServer.StorageManager.Nodes;

public enum NodeRole
{
    Gateway,
    Worker,
    Standalone,
}

/// <summary>What a worker reports about its backlog: tasks waiting, tasks running, and how many it runs at once.</summary>
/// <param name="Quarantined">
/// Its results failed verification repeatedly and it has not passed a check since: gateways route nothing to it and
/// the sweeper moves nothing onto it.
/// </param>
/// <param name="Draining">
/// It is shutting down: gateways route nothing to it, the sweeper moves nothing onto it, and the primary hands its
/// Queued tasks to other workers while it finishes what it runs.
/// </param>
public readonly record struct NodeLoad(int Queued, int Running, int Capacity, bool Quarantined = false, bool Draining = false);

public sealed record NodeHeartbeat(string NodeId, NodeRole Role, string Url, NodeLoad Load);

/// <param name="Age">Time since the last heartbeat by the database clock at the read.</param>
public sealed record NodeRecord(string NodeId, NodeRole Role, string Url, NodeLoad Load, DateTimeOffset LastSeen, TimeSpan Age);

public enum EvictOutcome
{
    Evicted,
    /// <summary>The node heartbeated within the timeout, still owns active tasks, or is gone already: nothing changed.</summary>
    NotStale,
    /// <summary>The caller's epoch no longer holds the lease: nothing changed.</summary>
    Fenced,
}
