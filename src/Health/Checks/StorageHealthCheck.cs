using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskServer.StorageManager;

namespace TaskServer.Health.Checks;

/// <summary>
/// The node can reach its database. A round trip of the node's own within the last <see cref="Fresh"/> (its heartbeat
/// writes every second) is the answer; only without one does the check send a ping. Gateways probe every worker
/// each second, and pinging on each probe was a fifth of an idle cluster's statements.
/// </summary>
internal sealed class StorageHealthCheck(IStorageProbe probe, StorageContact contact) : IHealthCheck
{
    internal static readonly TimeSpan Fresh = TimeSpan.FromSeconds(1.5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (contact.SucceededWithin(Fresh))
        {
            return HealthCheckResult.Healthy("database reachable");
        }

        try
        {
            await probe.PingAsync(cancellationToken);
            contact.Succeeded();
            return HealthCheckResult.Healthy("database reachable");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("database unreachable: " + exception.Message, exception);
        }
    }
}
