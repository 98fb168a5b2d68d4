using TaskServer.LoadManager.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace TaskServer.LoadManager.Balancing;

/// <summary>A worker as this gateway's balancer sees it.</summary>
/// <param name="Routed">Among the destinations balancing chooses from right now.</param>
/// <param name="Probe">YARP's active check of the worker's /health/worker.</param>
/// <param name="Passive">YARP's passive check of the requests forwarded to it.</param>
public readonly record struct WorkerRoute(bool Routed, DestinationHealth Probe, DestinationHealth Passive);

/// <summary>Which workers this gateway routes to, read from YARP's live proxy state rather than remembered.</summary>
public sealed class WorkerRouting(IProxyStateLookup proxyState)
{
    /// <summary>Every worker of the gateway's cluster by node id; empty before the first refresh from the registry.</summary>
    public IReadOnlyDictionary<string, WorkerRoute> Snapshot()
    {
        if (!proxyState.TryGetCluster(TaskRoutes.WorkersCluster, out var cluster))
        {
            return new Dictionary<string, WorkerRoute>(StringComparer.Ordinal);
        }

        var available = cluster.DestinationsState.AvailableDestinations.Select(d => d.DestinationId).ToHashSet(StringComparer.Ordinal);
        return cluster.Destinations.Values.ToDictionary(
            d => d.DestinationId,
            d => new WorkerRoute(available.Contains(d.DestinationId), d.Health.Active, d.Health.Passive),
            StringComparer.Ordinal);
    }
}
