using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using TaskServer.LoadManager.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.LoadBalancing;

namespace TaskServer.LoadManager.Balancing;

public sealed record WorkerChoice(string NodeId, string Url);

/// <summary>
/// Chooses a worker for work that does not arrive as a request (the sweeper's requeues) through the
/// same policy and the same health view as client submissions.
/// </summary>
public sealed class WorkerPicker(IProxyStateLookup proxyState, IEnumerable<ILoadBalancingPolicy> policies, Admission admission, IOptions<RoutingOptions> options)
{
    private readonly Dictionary<string, ILoadBalancingPolicy> byName = policies.ToDictionary(p => p.Name, StringComparer.Ordinal);

    /// <summary>A healthy worker other than <paramref name="excluded"/>, or null when there is none.</summary>
    public WorkerChoice? Pick(string? excluded = null)
    {
        if (!proxyState.TryGetCluster(TaskRoutes.WorkersCluster, out var cluster))
        {
            return null;
        }

        var candidates = cluster.DestinationsState.AvailableDestinations.Where(d => d.DestinationId != excluded).ToList();
        var chosen = byName[options.Value.Policy].PickDestination(new DefaultHttpContext(), cluster, candidates);
        if (chosen is null)
        {
            return null;
        }

        admission.RecordDispatch(chosen.DestinationId);
        return new WorkerChoice(chosen.DestinationId, chosen.Model.Config.Address);
    }
}
