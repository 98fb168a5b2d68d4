using System.Diagnostics;
using TaskServer.Host.Execution;
using TaskServer.Host.Node;
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

    private readonly GroupCommit<NewTask, Acceptance> commits;
    private readonly NodeIdentity node;
    private readonly TimeProvider timeProvider;

    public TaskIntake(ITaskStore store, TaskArrivals arrivals, NodeIdentity node, TaskMetrics metrics, TimeProvider timeProvider, IHostApplicationLifetime lifetime)
    {
        this.node = node;
        this.timeProvider = timeProvider;
        commits = new GroupCommit<NewTask, Acceptance>(
            async (set, cancellationToken) =>
            {
                var results = await CreateAsync(store, set, cancellationToken);
                var created = results.Where(r => r.Result?.Outcome == CreateOutcome.Created).Select(r => r.Result!).ToList();
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
            MaxSetSize,
            lifetime.ApplicationStopped);
    }

    /// <summary>The task stored (or the one its idempotency key names); <see cref="TaskNotStorableException"/> when the store cannot hold it.</summary>
    public async Task<CreateResult> AcceptAsync(SubmitRequest request, string? idempotencyKey, string? owner)
    {
        var acceptance = await commits.WriteAsync(NewTask(request, idempotencyKey, owner));
        return acceptance.Result ?? throw acceptance.Refusal!;
    }

    public ValueTask DisposeAsync() => commits.DisposeAsync();

    /// <summary>
    /// One write for the set; when the store refuses a task it cannot hold, the set is written again task by task, so
    /// only that submission is refused and the others sharing its commit are stored.
    /// </summary>
    private static async Task<IReadOnlyList<Acceptance>> CreateAsync(ITaskStore store, IReadOnlyList<NewTask> set, CancellationToken cancellationToken)
    {
        try
        {
            return [.. (await store.CreateManyAsync(set, cancellationToken)).Select(result => new Acceptance(result, null))];
        }
        catch (TaskNotStorableException) when (set.Count > 1)
        {
            var acceptances = new List<Acceptance>(set.Count);
            foreach (var task in set)
            {
                try
                {
                    acceptances.Add(new Acceptance((await store.CreateManyAsync([task], cancellationToken))[0], null));
                }
                catch (TaskNotStorableException refusal)
                {
                    acceptances.Add(new Acceptance(null, refusal));
                }
            }

            return acceptances;
        }
        catch (TaskNotStorableException refusal)
        {
            return [new Acceptance(null, refusal)];
        }
    }

    private NewTask NewTask(SubmitRequest request, string? idempotencyKey, string? owner) =>
        new()
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

    /// <summary>A submission's outcome in its set: stored (<paramref name="Result"/>) or refused as unstorable.</summary>
    private sealed record Acceptance(CreateResult? Result, TaskNotStorableException? Refusal);
}
