namespace TaskServer.Host.Cluster;

// The cluster as one gateway sees it: GET /cluster serialises it as JSON, the dashboard's Cluster page
// renders it as HTML. Readers (tests, the drill CLI) depend on these names: add fields, never rename.

/// <param name="GeneratedAt">When this gateway put the view together, by its own clock.</param>
public sealed record ClusterView(
    SelfView Self,
    LeaseView? Lease,
    string Policy,
    IReadOnlyList<NodeView> Nodes,
    IReadOnlyList<FailoverView> Failovers,
    DateTimeOffset GeneratedAt);

public sealed record SelfView(string Id, string Role, string Url, bool IsPrimary);

/// <summary>The primary lease as this gateway last read or renewed it.</summary>
/// <param name="RemainingMs">Time left at that read, by the database's clock.</param>
public sealed record LeaseView(string Holder, string HolderUrl, long Epoch, DateTimeOffset ExpiresAt, double RemainingMs);

/// <param name="Live">Heartbeat younger than the worker timeout.</param>
/// <param name="Gateway">"primary" or "backup" for a node that runs a gateway; null for a worker only.</param>
/// <param name="Routed">For a node that runs a worker: whether this gateway's balancer sends tasks to it now.</param>
/// <param name="ProbeHealth">For a node that runs a worker: YARP's active health check of it (Unknown, Healthy, Unhealthy).</param>
/// <param name="PassiveHealth">For a node that runs a worker: YARP's passive health check of it.</param>
/// <param name="Quarantined">For a node that runs a worker: its results failed verification and it has not verified its canaries since (routed nothing).</param>
public sealed record NodeView(
    string Id,
    string Role,
    string Url,
    bool Live,
    double HeartbeatAgeMs,
    int Queued,
    int Running,
    int Capacity,
    string? Gateway,
    bool? Routed,
    string? ProbeHealth,
    string? PassiveHealth,
    bool? Quarantined = null)
{
    public const string Primary = "primary";
    public const string Backup = "backup";
}

/// <param name="TtdMs">Time to detect: from the new primary's last good probe of the old one to suspecting it.</param>
/// <param name="PromotedAfterMs">From that last good probe to holding the lease: the recovery time as the new primary measured it.</param>
public sealed record FailoverView(
    string? OldHolder,
    string NewHolder,
    long Epoch,
    DateTimeOffset? SuspectedAt,
    DateTimeOffset PromotedAt,
    double? TtdMs,
    double? PromotedAfterMs);

/// <summary>How many of the workers this gateway knows it routes to.</summary>
public readonly record struct RoutedWorkers(int Healthy, int Known);
