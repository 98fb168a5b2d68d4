using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskServer.Host.Execution;

namespace TaskServer.Host.Node;

/// <summary>
/// A worker is ready once its host has started (which starts its Hangfire server) and until shutdown begins, unless a
/// drain it enqueued has waited past <see cref="ExecutionOptions.DrainStartDeadline"/> for its Hangfire server to start
/// it: a server that failed to start (its failure is only logged by Hangfire's hosted service) or stopped fetching its
/// queue would otherwise keep being sent tasks it never runs. Asking Hangfire's storage for its server list instead
/// would cost a synchronous query on every probe, and a probe arrives several times a second.
/// </summary>
internal sealed class HangfireServerHealthCheck(IHostApplicationLifetime lifetime, TaskDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            !lifetime.ApplicationStarted.IsCancellationRequested ? HealthCheckResult.Unhealthy("Hangfire server starting")
            : lifetime.ApplicationStopping.IsCancellationRequested ? HealthCheckResult.Unhealthy("Hangfire server stopping")
            : drain.StartOverdue
                ? HealthCheckResult.Unhealthy($"Hangfire has not started this worker's drain for {drain.AwaitingDrainStart?.TotalSeconds:0} s")
            : HealthCheckResult.Healthy("Hangfire server running"));
}
