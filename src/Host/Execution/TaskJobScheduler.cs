using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using TaskServer.Host.Node;

namespace TaskServer.Host.Execution;

/// <summary>Creates the Hangfire job that runs one attempt of a task, on this worker's own queue.</summary>
public sealed class TaskJobScheduler(IBackgroundJobClient jobs, NodeIdentity node)
{
    /// <summary>Enqueues the attempt now, or schedules it after <paramref name="delay"/>; returns the job id.</summary>
    /// <remarks>Hangfire's client API is synchronous: this blocks the caller for one storage transaction.</remarks>
    public string Schedule(Guid taskId, Guid attemptToken, TimeSpan delay)
    {
        var job = Job.FromExpression<TaskJob>(j => j.RunAsync(taskId, attemptToken, CancellationToken.None), node.Queue);
        IState state = delay > TimeSpan.Zero ? new ScheduledState(delay) : new EnqueuedState(node.Queue);
        return jobs.Create(job, state);
    }

    /// <summary>Aborts the job of a cancelled task: Hangfire signals the running handler's token.</summary>
    public bool Abort(string jobId) => jobs.Delete(jobId);
}
