namespace TaskServer.Failover.Sweeping;

/// <summary>Starts an attempt of a task on a given worker (its Hangfire queue); implemented by the host, which owns the job type.</summary>
public interface IAttemptDispatcher
{
    /// <summary>
    /// Enqueues the attempt on <paramref name="workerId"/>'s queue; returns the job id. The attempt joins the trace
    /// <paramref name="traceParent"/> names (the task's submission), when there is one.
    /// </summary>
    string Dispatch(Guid taskId, Guid attemptToken, string workerId, string? traceParent);

    /// <summary>Deletes a superseded attempt's job, so it neither runs nor lingers in the dashboard.</summary>
    void Abandon(string jobId);

    /// <summary>Where an attempt's job stands now.</summary>
    JobFate Inspect(string jobId);
}

/// <summary>An attempt's job as the job store sees it.</summary>
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
