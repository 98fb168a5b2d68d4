namespace TaskServer.Failover.Sweeping;

/// <summary>The jobs that run tasks (each worker's drain jobs), as the sweeper needs them; implemented by the host, which owns the job type.</summary>
public interface IExecutionJobs
{
    /// <summary>Deletes a dead worker's job, so it does not linger in the dashboard as processing.</summary>
    void Abandon(string jobId);

    /// <summary>Where a job stands now.</summary>
    JobFate Inspect(string jobId);
}

/// <summary>A job as the job store sees it.</summary>
public enum JobFate
{
    /// <summary>Waiting (enqueued, scheduled, awaiting) or being processed: it will still run or finish.</summary>
    Pending,
    Succeeded,
    Failed,
    Deleted,

    /// <summary>No such job (expired, or lost with its storage).</summary>
    Missing,
}
