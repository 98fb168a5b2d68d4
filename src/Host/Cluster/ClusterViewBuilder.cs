using Microsoft.Extensions.Options;
using TaskServer.Failover;
using TaskServer.Failover.Leadership;
using TaskServer.Host.Node;
using TaskServer.LoadManager.Balancing;
using TaskServer.LoadManager.Routing;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Cluster;

/// <summary>
/// The one place the cluster's state is read for operators: <c>GET /cluster</c> and the dashboard's Cluster
/// page both render what this builds. The lease and the routing come from this gateway's memory (its
/// failover agent and YARP); nodes and failover history from the database.
/// </summary>
public sealed class ClusterViewBuilder(
    INodeRegistry registry,
    IFailoverLog failoverLog,
    LeadershipState leadership,
    WorkerRouting routing,
    NodeIdentity self,
    TimeProvider timeProvider,
    IOptions<FailoverOptions> failover,
    IOptions<NodeOptions> node,
    IOptions<RoutingOptions> routingOptions)
{
    /// <summary>How many failovers the view lists, newest first.</summary>
    public const int HistoryLength = 20;

    public async Task<ClusterView> BuildAsync(CancellationToken cancellationToken)
    {
        var nodes = await registry.ListAsync(cancellationToken);
        var history = await failoverLog.ListAsync(failover.Value.LeaseName, HistoryLength, cancellationToken);
        var lease = Lease();
        var routes = routing.Snapshot();
        return new ClusterView(
            new SelfView(self.Id, self.Role.ToString(), self.Url, leadership.Current.IsPrimary),
            lease,
            routingOptions.Value.Policy,
            nodes.Select(n => ToView(n, lease, routes)).ToList(),
            history.Select(f => new FailoverView(
                f.OldHolder,
                f.NewHolder,
                f.Epoch,
                f.SuspectedAt,
                f.PromotedAt,
                f.TimeToDetect?.TotalMilliseconds,
                f.TimeToPromote?.TotalMilliseconds)).ToList(),
            timeProvider.GetUtcNow());
    }

    /// <summary>The lease as this gateway last saw it; null when it has not read one (or has just stepped down).</summary>
    public LeaseView? Lease() =>
        leadership.LastSeenLease is { } lease
            ? new LeaseView(lease.Holder, lease.HolderUrl, lease.Epoch, lease.ExpiresAt, lease.Remaining.TotalMilliseconds)
            : null;

    public RoutedWorkers CountRoutedWorkers()
    {
        var routes = routing.Snapshot();
        return new RoutedWorkers(routes.Values.Count(r => r.Routed), routes.Count);
    }

    private NodeView ToView(NodeRecord record, LeaseView? lease, IReadOnlyDictionary<string, WorkerRoute> routes)
    {
        var runsGateway = record.Role is NodeRole.Gateway or NodeRole.Standalone;
        var runsWorker = record.Role is NodeRole.Worker or NodeRole.Standalone;
        var route = routes.TryGetValue(record.NodeId, out var known) ? known : (WorkerRoute?)null;
        return new NodeView(
            record.NodeId,
            record.Role.ToString(),
            record.Url,
            record.Age <= node.Value.WorkerTimeout,
            Math.Round(record.Age.TotalMilliseconds),
            record.Load.Queued,
            record.Load.Running,
            record.Load.Capacity,
            runsGateway ? (record.NodeId == lease?.Holder ? NodeView.Primary : NodeView.Backup) : null,
            runsWorker ? route?.Routed ?? false : null,
            runsWorker ? route?.Probe.ToString() : null,
            runsWorker ? route?.Passive.ToString() : null,
            runsWorker ? record.Load.Quarantined : null);
    }
}
