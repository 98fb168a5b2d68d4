using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace TaskServer.LoadManager.Balancing;

/// <summary>
/// Picks the healthy worker with the smallest backlog per unit of capacity, so a worker stuck with long
/// tasks gets new work last even when it holds few connections (which is all LeastRequests can see).
/// Equal backlogs are broken at random, so idle workers share a burst instead of the first one taking it.
/// </summary>
internal sealed class LeastLoadPolicy(WorkerLoadBoard board, Random random) : ILoadBalancingPolicy
{
    public const string PolicyName = "LeastLoad";

    public string Name => PolicyName;

    public DestinationState? PickDestination(HttpContext context, ClusterState cluster, IReadOnlyList<DestinationState> availableDestinations)
    {
        if (availableDestinations.Count == 0)
        {
            return null;
        }

        var lowest = double.MaxValue;
        var ties = new List<DestinationState>(availableDestinations.Count);
        foreach (var destination in availableDestinations)
        {
            var backlog = board.Backlog(destination.DestinationId);
            if (backlog < lowest)
            {
                lowest = backlog;
                ties.Clear();
            }

            if (backlog <= lowest)
            {
                ties.Add(destination);
            }
        }

        return ties[ties.Count == 1 ? 0 : random.Next(ties.Count)];
    }
}
