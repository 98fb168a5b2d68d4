using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskServer.StorageManager.Leases;

namespace TaskServer.Health.Checks;

/// <summary>
/// Healthy only on the node that holds the lease, unexpired, by the database's clock: load balancers
/// in front of the gateways send traffic to whoever answers 200 on <c>/health/primary</c>.
/// </summary>
internal sealed class LeaseHolderHealthCheck(ILeaseStore leases, string leaseName, Func<string> holderId) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var lease = await leases.ReadAsync(leaseName, cancellationToken);
        var me = holderId();
        if (lease is null || lease.IsExpired)
        {
            return HealthCheckResult.Unhealthy($"nobody holds '{leaseName}'");
        }

        var data = new Dictionary<string, object> { ["holder"] = lease.Holder, ["holderUrl"] = lease.HolderUrl, ["epoch"] = lease.Epoch };
        return lease.Holder == me
            ? HealthCheckResult.Healthy($"primary at epoch {lease.Epoch}", data)
            : HealthCheckResult.Unhealthy($"backup; the primary is {lease.Holder} at {lease.HolderUrl}", data: data);
    }
}
