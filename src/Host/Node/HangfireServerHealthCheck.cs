using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TaskServer.Host.Node;

/// <summary>
/// A worker is ready once its Hangfire server has started (the host starts it before it reports
/// started) and until shutdown begins. Asking Hangfire's storage for its server list instead would
/// cost a synchronous query on every probe, and a probe arrives several times a second.
/// </summary>
internal sealed class HangfireServerHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            !lifetime.ApplicationStarted.IsCancellationRequested ? HealthCheckResult.Unhealthy("Hangfire server starting")
            : lifetime.ApplicationStopping.IsCancellationRequested ? HealthCheckResult.Unhealthy("Hangfire server stopping")
            : HealthCheckResult.Healthy("Hangfire server running"));
}
