using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TaskServer.Health.Checks;

/// <summary>
/// Healthy only on the primary gateway, as its failover agent knows it (a renewed, unexpired lease):
/// load balancers in front of the gateways send traffic to whoever answers 200 on <c>/health/primary</c>.
/// A node without an agent (a worker) is never primary.
/// </summary>
internal sealed class PrimaryStatusHealthCheck(IPrimaryStatus? status = null) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (status is null)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("not a gateway"));
        }

        var view = status.Current;
        var data = new Dictionary<string, object?> { ["epoch"] = view.Epoch, ["primary"] = view.PrimaryId, ["primaryUrl"] = view.PrimaryUrl }
            .Where(pair => pair.Value is not null)
            .ToDictionary(pair => pair.Key, pair => pair.Value!);
        return Task.FromResult(view.IsPrimary
            ? HealthCheckResult.Healthy($"primary at epoch {view.Epoch}", data)
            : HealthCheckResult.Unhealthy(view.PrimaryUrl is null ? "backup; no primary known" : $"backup; the primary is {view.PrimaryUrl}", data: data));
    }
}
