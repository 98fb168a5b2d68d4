namespace TaskServer.Host.Quarantine;

/// <summary>The execution module's <see cref="IResultVerdicts"/>: this worker's quarantine, and a retry target from the registry.</summary>
internal sealed class QuarantineVerdicts(ResultQuarantine quarantine, RetryTargets retryTargets) : IResultVerdicts
{
    public bool RecordIncorrect() => quarantine.RecordFailure();

    public Task<string?> PickRetryWorkerAsync(CancellationToken cancellationToken) => retryTargets.PickAsync(cancellationToken);
}
