using System.Diagnostics;
using TaskServer.Host.Execution;
using TaskServer.Host.Node;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Api;

/// <summary>
/// A worker accepting a task: persist it (Queued, owned by this worker), then enqueue its Hangfire job,
/// in that order. A crash between the two leaves a Queued task without a job, which the primary's
/// sweeper enqueues; the reverse order could run a job whose task was never stored.
/// </summary>
public sealed class TaskIntake(ITaskStore store, TaskJobScheduler scheduler, NodeIdentity node, TaskMetrics metrics, TimeProvider timeProvider)
{
    public async Task<CreateResult> AcceptAsync(SubmitRequest request, string? idempotencyKey, string? owner, CancellationToken cancellationToken)
    {
        var task = new NewTask
        {
            Id = Guid.CreateVersion7(timeProvider.GetUtcNow()),
            Type = request.Type,
            Payload = request.Payload,
            MaxAttempts = request.MaxAttempts,
            Worker = node.Id,
            AttemptToken = Guid.NewGuid(),
            IdempotencyKey = idempotencyKey,
            Owner = owner,

            // The intake's request span: the gateway's and the client's spans are its ancestors.
            TraceParent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null,
        };

        var created = await store.CreateAsync(task, cancellationToken);
        if (created.Outcome != CreateOutcome.Created)
        {
            return created;
        }

        metrics.Submitted(task.Type);
        var jobId = scheduler.Schedule(task.Id, task.AttemptToken, task.TraceParent, TimeSpan.Zero);
        var attached = await store.AttachJobAsync(task.Id, task.AttemptToken, jobId, cancellationToken);

        // The job may already have started (or even finished) the task; either way the id is recorded once.
        return attached ? created with { Task = created.Task with { JobId = jobId } } : created;
    }
}
