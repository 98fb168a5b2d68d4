namespace TaskServer.StorageManager.Tasks;

/// <summary>Durable task state. Every write is one atomic conditional write; a miss is a result, not an exception.</summary>
public interface ITaskStore
{
    /// <summary>
    /// Persists a new task, or, when its idempotency key is taken, returns the stored task
    /// (<see cref="CreateOutcome.Existing"/>) or reports the conflict; never a second task.
    /// </summary>
    Task<CreateResult> CreateAsync(NewTask task, CancellationToken cancellationToken);

    Task<TaskRecord?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Newest first, paged by id (ids are time-ordered).</summary>
    Task<IReadOnlyList<TaskRecord>> ListAsync(TaskQuery query, CancellationToken cancellationToken);

    Task<TransitionResult> ApplyAsync(TaskTransition transition, CancellationToken cancellationToken);

    /// <summary>Records the Hangfire job of the current attempt; false when the task moved on meanwhile.</summary>
    Task<bool> AttachJobAsync(Guid id, Guid attemptToken, string jobId, CancellationToken cancellationToken);

    /// <summary>Queued and Running tasks owned by <paramref name="worker"/> (the sweeper's work list).</summary>
    Task<IReadOnlyList<TaskRecord>> ListActiveByWorkerAsync(string worker, int limit, CancellationToken cancellationToken);

    /// <summary>How many of <paramref name="worker"/>'s tasks wait and run: the load its heartbeat reports.</summary>
    Task<ActiveCounts> CountActiveByWorkerAsync(string worker, CancellationToken cancellationToken);

    /// <summary>Queued tasks with no job, older than <paramref name="minimumAge"/> by the database clock.</summary>
    Task<IReadOnlyList<TaskRecord>> ListWithoutJobAsync(TimeSpan minimumAge, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Queued and Running tasks that have a job, in id order after <paramref name="after"/> (exclusive): the
    /// sweeper walks them to find tasks whose job ended without their attempt ending.
    /// </summary>
    Task<IReadOnlyList<TaskRecord>> ListActiveWithJobAsync(Guid? after, int limit, CancellationToken cancellationToken);
}

public readonly record struct ActiveCounts(int Queued, int Running);

public sealed record TaskQuery
{
    public TaskState? Status { get; init; }
    public string? Type { get; init; }
    public int Limit { get; init; } = 50;
    /// <summary>Continue after this id (exclusive), going to older tasks.</summary>
    public Guid? After { get; init; }
    /// <summary>Only this client's tasks; null for every client's.</summary>
    public string? Owner { get; init; }
}
