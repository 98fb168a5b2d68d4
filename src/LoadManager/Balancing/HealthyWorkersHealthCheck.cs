using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TaskServer.LoadManager.Balancing;

/// <summary>A gateway is ready when it can place a task: at least one worker passes YARP's health checks.</summary>
internal sealed class HealthyWorkersHealthCheck(WorkerRouting routing) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var workers = routing.Snapshot();
        var healthy = workers.Values.Count(w => w.Routed);
        var all = workers.Count;
        var data = new Dictionary<string, object> { ["healthy"] = healthy, ["known"] = all };
        return Task.FromResult(healthy > 0
            ? HealthCheckResult.Healthy($"{healthy} of {all} workers healthy", data)
            : HealthCheckResult.Unhealthy($"no healthy worker ({all} known)", data: data));
    }
}
