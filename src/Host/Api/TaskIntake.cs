using System.Diagnostics;
using TaskServer.Host.Node;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Api;

/// <summary>
/// A worker accepting a task: one insert, shared with whatever other submissions arrived meanwhile (group commit),
/// and the 202 only once that insert has committed. The row is the queue entry: no job is created per task; the
/// worker's drain is told that work arrived and claims it.
/// </summary>
public sealed class TaskIntake : IAsyncDisposable
{
    private const int MaxSetSize = 256;

    /// <summary>
    /// Submissions that may wait for their insert (each holds its payload, up to <c>MaxPayloadBytes</c>): about four
    /// sets. Beyond it the worker answers 503 at once and the gateway sends the submission to another worker.
    /// </summary>
    private const int MaxWaiting = 4 * MaxSetSize;

    private readonly GroupCommit<NewTask, CreateResult> commits;
    private readonly NodeIdentity node;
    private readonly TimeProvider timeProvider;

    public TaskIntake(ITaskStore store, StorageErrors storageErrors, TaskArrivals arrivals, NodeIdentity node, TaskMetrics metrics, TimeProvider timeProvider, IHostApplicationLifetime lifetime)
    {
        this.node = node;
        this.timeProvider = timeProvider;
        commits = new GroupCommit<NewTask, CreateResult>(
            async (set, cancellationToken) =>
            {
                var results = await store.CreateManyAsync(set, cancellationToken);
                var created = results.Where(r => r.Outcome == CreateOutcome.Created).ToList();
                if (created.Count > 0)
                {
                    arrivals.Raise();
                    foreach (var result in created)
                    {
                        metrics.Submitted(result.Task.Type);
                    }
                }

                return results;
            },
            exception => !storageErrors.IsUnavailable(exception),
            MaxSetSize,
            MaxWaiting,
            lifetime.ApplicationStopped);
    }

    /// <param name="abandoned">The request's own token: a submission whose caller went away before its set was taken is not written.</param>
    public Task<CreateResult> AcceptAsync(SubmitRequest request, string? idempotencyKey, string? owner, CancellationToken abandoned) =>
        commits.WriteAsync(
            new NewTask
            {
                Id = Guid.CreateVersion7(timeProvider.GetUtcNow()),
                Type = request.Type,
                Payload = request.Payload,
                MaxAttempts = request.MaxAttempts,
                Timeout = request.Timeout,
                Worker = node.Id,
                AttemptToken = Guid.NewGuid(),
                IdempotencyKey = idempotencyKey,
                Owner = owner,

                // The intake's request span: the gateway's and the client's spans are its ancestors.
                TraceParent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null,
            },
            abandoned);

    public ValueTask DisposeAsync() => commits.DisposeAsync();
}
