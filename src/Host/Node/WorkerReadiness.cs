using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace TaskServer.Host.Node;

/// <summary>
/// A worker is ready once its host has started and until its shutdown begins: from then on gateways probing
/// <c>/health/worker</c> take it out of rotation, as does its heartbeat's draining flag.
/// </summary>
internal sealed class WorkerReadinessHealthCheck(IHostApplicationLifetime lifetime, WorkerShutdown shutdown) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            !lifetime.ApplicationStarted.IsCancellationRequested ? HealthCheckResult.Unhealthy("worker starting")
            : shutdown.Draining ? HealthCheckResult.Unhealthy("worker draining: shutting down")
            : HealthCheckResult.Healthy("worker running"));
}

/// <summary>
/// The first step of a worker's shutdown, before any service stops: it starts draining (no more claims; the heartbeat
/// says so at once) and keeps its listener open for <see cref="ExecutionOptions.DeregistrationDelay"/>, so gateways stop
/// routing to it before intake closes and no client sees an error. What arrives meanwhile is committed as usual, and
/// the primary hands it to another worker.
/// </summary>
internal sealed class WorkerDeregistration(WorkerShutdown shutdown, IOptions<ExecutionOptions> options, TimeProvider timeProvider) : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        shutdown.BeginDraining();
        await Task.Delay(options.Value.DeregistrationDelay, timeProvider, cancellationToken);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
