using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskServer.StorageManager;

namespace TaskServer.Health.Checks;

/// <summary>The node can reach its database: one round trip.</summary>
internal sealed class StorageHealthCheck(IStorageProbe probe) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await probe.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy("database reachable");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("database unreachable: " + exception.Message, exception);
        }
    }
}
