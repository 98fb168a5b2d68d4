namespace TaskServer.Drill.Cluster;

// The JSON of GET /cluster (TaskServer.Host's ClusterEndpoints), as the drill reads it.

internal sealed record ClusterView(SelfView Self, LeaseView? Lease, string? Policy, IReadOnlyList<NodeView> Nodes, IReadOnlyList<FailoverView> Failovers);

internal sealed record SelfView(string Id, string Role, string Url, bool IsPrimary);

internal sealed record LeaseView(string Holder, string HolderUrl, long Epoch, DateTimeOffset ExpiresAt, double RemainingMs);

/// <param name="Routed">Whether this gateway's balancer sends tasks to the node now (null for a gateway only).</param>
/// <param name="Quarantined">Whether the node is quarantined for incorrect results; null while the cluster does not report it.</param>
internal sealed record NodeView(
    string Id,
    string Role,
    string Url,
    bool Live,
    double HeartbeatAgeMs,
    int Queued,
    int Running,
    int Capacity,
    string? Gateway = null,
    bool? Routed = null,
    bool? Quarantined = null);

/// <param name="TtdMs">Measured by the new primary: from its last good probe of the old one to suspecting it.</param>
/// <param name="PromotedAfterMs">From that last good probe to holding the lease.</param>
internal sealed record FailoverView(string? OldHolder, string NewHolder, long Epoch, DateTimeOffset? SuspectedAt, DateTimeOffset PromotedAt, double? TtdMs, double? PromotedAfterMs);
