namespace TaskServer.StorageManager.Tasks;

/// <summary>
/// Durable task state, and the queue: workers claim their due tasks from it in sets. Every write is an atomic
/// conditional write (one per task, or one per set with each row still conditioned on its attempt token); a miss
/// is a result, not an exception.
/// </summary>
public interface ITaskStore
{
    /// <summary>
    /// Persists a new task, or, when its idempotency key is taken, returns the stored task
    /// (<see cref="CreateOutcome.Existing"/>) or reports the conflict; never a second task.
    /// </summary>
    Task<CreateResult> CreateAsync(NewTask task, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="CreateAsync"/> for many tasks in one write and one commit (group commit at intake); one result per
    /// task, in the order given. Either every task is durable when this returns, or it throws and none is acknowledged.
    /// </summary>
    Task<IReadOnlyList<CreateResult>> CreateManyAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken);

    Task<TaskRecord?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Newest first, paged by id (ids are time-ordered).</summary>
    Task<IReadOnlyList<TaskRecord>> ListAsync(TaskQuery query, CancellationToken cancellationToken);

    /// <summary>How many tasks are in each state (every state present, zero where none).</summary>
    Task<IReadOnlyDictionary<TaskState, long>> CountByStatusAsync(CancellationToken cancellationToken);

    Task<TransitionResult> ApplyAsync(TaskTransition transition, CancellationToken cancellationToken);

    /// <summary>
    /// The claim, which is the start of each attempt: up to <paramref name="limit"/> of <paramref name="worker"/>'s
    /// Queued tasks that are due (oldest first) move to Running under their current attempt token, with
    /// <c>started_at</c> now and <see cref="TaskRecord.JobId"/> = <paramref name="jobId"/> (the job that runs them),
    /// in one write that returns them. Concurrent claims never return the same task.
    /// </summary>
    Task<IReadOnlyList<TaskRecord>> ClaimAsync(string worker, string jobId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The outcomes of many attempts in one write: each <see cref="CompleteAttempt"/>, <see cref="FailAttempt"/> or
    /// <see cref="RetryAttempt"/> is applied exactly as <see cref="ApplyAsync"/> would apply it (conditioned on its
    /// task being Running under its token), and the rest of the set is not held back by a miss. One outcome per
    /// transition, in the order given: <see cref="TransitionOutcome.Applied"/> or <see cref="TransitionOutcome.Conflict"/>.
    /// </summary>
    Task<IReadOnlyList<TransitionOutcome>> ApplyOutcomesAsync(IReadOnlyList<TaskTransition> outcomes, CancellationToken cancellationToken);

    /// <summary>The current attempt of each task named (those that exist): an executor learns which of its runs were superseded or cancelled.</summary>
    Task<IReadOnlyList<CurrentAttempt>> GetCurrentAttemptsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken);

    /// <summary>Queued and Running tasks owned by <paramref name="worker"/> (the sweeper's work list).</summary>
    Task<IReadOnlyList<TaskRecord>> ListActiveByWorkerAsync(string worker, int limit, CancellationToken cancellationToken);

    /// <summary>How many of <paramref name="worker"/>'s tasks wait (and of those, are due) and run: the load its heartbeat reports.</summary>
    Task<ActiveCounts> CountActiveByWorkerAsync(string worker, CancellationToken cancellationToken);

    /// <summary>
    /// Running tasks in id order after <paramref name="after"/> (exclusive): the sweeper walks them to find tasks
    /// whose job ended without their attempt ending.
    /// </summary>
    Task<IReadOnlyList<TaskRecord>> ListRunningAsync(Guid? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Retention: removes up to <paramref name="limit"/> finished tasks (Succeeded, Failed, Cancelled) that finished
    /// more than <paramref name="age"/> ago by the database's clock, oldest first; returns how many went. Queued and
    /// Running tasks are never removed.
    /// </summary>
    Task<int> DeleteFinishedBeforeAsync(TimeSpan age, int limit, CancellationToken cancellationToken);
}

/// <param name="Due">Of the queued, those whose <see cref="TaskRecord.DueAt"/> has come (by the database clock).</param>
public readonly record struct ActiveCounts(int Queued, int Running, int Due = 0);

/// <summary>A task's state and current attempt token, as an executor checks them.</summary>
public readonly record struct CurrentAttempt(Guid Id, TaskState Status, Guid AttemptToken);

public sealed record TaskQuery
{
    public TaskState? Status { get; init; }
    public string? Type { get; init; }

    /// <summary>Only this client's tasks; null for every client's (operators).</summary>
    public string? Owner { get; init; }

    public int Limit { get; init; } = 50;
    /// <summary>Continue after this id (exclusive), going to older tasks.</summary>
    public Guid? After { get; init; }
}
