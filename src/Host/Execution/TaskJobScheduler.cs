using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using TaskServer.Failover.Sweeping;
using TaskServer.Host.Node;

namespace TaskServer.Host.Execution;

/// <summary>
/// Creates the Hangfire job that runs one attempt of a task on a worker's own queue: this worker's for
/// intake and retries, a live worker's for the primary's requeues.
/// </summary>
/// <remarks>Hangfire's client API is synchronous: each call blocks the caller for one storage transaction.</remarks>
public sealed class TaskJobScheduler(IBackgroundJobClient jobs, JobStorage storage, NodeIdentity node) : IAttemptDispatcher
{
    /// <summary>Enqueues the attempt on this worker now, or schedules it after <paramref name="delay"/>; returns the job id.</summary>
    public string Schedule(Guid taskId, Guid attemptToken, string? traceParent, TimeSpan delay) => Create(taskId, attemptToken, traceParent, node.Queue, delay);

    public string Dispatch(Guid taskId, Guid attemptToken, string workerId, string? traceParent) =>
        Create(taskId, attemptToken, traceParent, NodeIdentity.QueueOf(workerId), TimeSpan.Zero);

    /// <summary>Deletes an attempt's job (a cancelled task's, or a superseded one's); if it is running, Hangfire cancels the handler's token.</summary>
    public void Abandon(string jobId) => jobs.Delete(jobId);

    public JobFate Inspect(string jobId)
    {
        using var connection = storage.GetConnection();
        var state = connection.GetJobData(jobId)?.State;
        return state is null ? JobFate.Missing
            : state == SucceededState.StateName ? JobFate.Succeeded
            : state == FailedState.StateName ? JobFate.Failed
            : state == DeletedState.StateName ? JobFate.Deleted
            : JobFate.Pending;
    }

    private string Create(Guid taskId, Guid attemptToken, string? traceParent, string queue, TimeSpan delay)
    {
        var job = Job.FromExpression<TaskJob>(j => j.RunAsync(taskId, attemptToken, traceParent, CancellationToken.None), queue);
        IState state = delay > TimeSpan.Zero ? new ScheduledState(delay) : new EnqueuedState(queue);
        return jobs.Create(job, state);
    }
}
