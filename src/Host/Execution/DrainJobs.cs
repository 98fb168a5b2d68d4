using Hangfire;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.States;
using TaskServer.Failover.Sweeping;
using TaskServer.Host.Node;

namespace TaskServer.Host.Execution;

/// <summary>The Hangfire side of execution: a worker's drain jobs on its own queue, and what the primary asks of them.</summary>
/// <remarks>Hangfire's client API is synchronous: each call blocks the caller for one storage transaction.</remarks>
public sealed class DrainJobs(IBackgroundJobClient jobs, JobStorage storage, NodeIdentity node) : IExecutionJobs
{
    public string EnqueueDrain() =>
        jobs.Create(Job.FromExpression<TaskDrainJob>(j => j.RunAsync(node.Id, null, CancellationToken.None), node.Queue), new EnqueuedState(node.Queue));

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
}

/// <summary>
/// The Hangfire job that runs a worker's tasks: one per drain (see <see cref="TaskDrain"/>), shown in the dashboard
/// with the number of tasks it claimed. Hangfire does not retry it: tasks carry their own attempts.
/// </summary>
public sealed class TaskDrainJob(TaskDrain drain)
{
    [JobDisplayName("run tasks on {0}")]
    public Task<DrainSummary> RunAsync(string worker, PerformContext? context, CancellationToken cancellationToken) =>
        drain.RunAsync(context?.BackgroundJob.Id ?? throw new InvalidOperationException($"The drain of {worker} runs only as a Hangfire job."), cancellationToken);
}
