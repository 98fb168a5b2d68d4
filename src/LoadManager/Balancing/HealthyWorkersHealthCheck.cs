using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskServer.LoadManager.Routing;
using Yarp.ReverseProxy;

namespace TaskServer.LoadManager.Balancing;

/// <summary>A gateway is ready when it can place a task: at least one worker passes YARP's health checks.</summary>
internal sealed class HealthyWorkersHealthCheck(IProxyStateLookup proxyState) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var healthy = proxyState.TryGetCluster(TaskRoutes.WorkersCluster, out var cluster) ? cluster.DestinationsState.AvailableDestinations.Count : 0;
        var all = cluster?.Destinations.Count ?? 0;
        var data = new Dictionary<string, object> { ["healthy"] = healthy, ["known"] = all };
        return Task.FromResult(healthy > 0
            ? HealthCheckResult.Healthy($"{healthy} of {all} workers healthy", data)
            : HealthCheckResult.Unhealthy($"no healthy worker ({all} known)", data: data));
    }
}
