namespace TaskServer.Execution;

/// <summary>
/// What a worker does with a result that failed verification (<see cref="IVerifiesResults"/>): the host counts it
/// toward the worker's quarantine and names another worker for the retry.
/// </summary>
public interface IResultVerdicts
{
    /// <summary>Counts one incorrect result; true when this one put the worker in quarantine.</summary>
    bool RecordIncorrect();

    /// <summary>A live worker, not this one and not quarantined, to run the retry; null when there is none.</summary>
    Task<string?> PickRetryWorkerAsync(CancellationToken cancellationToken);
}
