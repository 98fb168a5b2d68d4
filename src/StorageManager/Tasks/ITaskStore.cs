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
    /// <c>started_at</c> now, in one write that returns them. Concurrent claims never return the same task. A worker
    /// whose heartbeat is older than <paramref name="workerTimeout"/> by the database clock (or that is not
    /// registered) takes nothing: the primary may be rescuing its tasks as lost, and an attempt it started now would
    /// be one the rescue ends under it.
    /// </summary>
    Task<IReadOnlyList<TaskRecord>> ClaimAsync(string worker, int limit, TimeSpan workerTimeout, CancellationToken cancellationToken);

    /// <summary>
    /// The outcomes of many attempts in one write: each <see cref="CompleteAttempt"/>, <see cref="FailAttempt"/> or
    /// <see cref="RetryAttempt"/> is applied exactly as <see cref="ApplyAsync"/> would apply it (conditioned on its
    /// task being Running under its token), and the rest of the set is not held back by a miss. One outcome per
    /// transition, in the order given: <see cref="TransitionOutcome.Applied"/> or <see cref="TransitionOutcome.Conflict"/>.
    /// </summary>
    Task<IReadOnlyList<TransitionOutcome>> ApplyOutcomesAsync(IReadOnlyList<TaskTransition> outcomes, CancellationToken cancellationToken);

    /// <summary>The current attempt of each task named (those that exist): an executor learns which of its runs were superseded or cancelled.</summary>
    Task<IReadOnlyList<CurrentAttempt>> GetCurrentAttemptsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken);

    /// <summary>
    /// Running tasks owned by <paramref name="worker"/>, oldest first: a worker finds its own orphans in it. Running
    /// only: a backlog of Queued tasks must not fill the page and hide them.
    /// </summary>
    Task<IReadOnlyList<TaskRecord>> ListRunningByWorkerAsync(string worker, int limit, CancellationToken cancellationToken);

    /// <summary>How many of <paramref name="worker"/>'s tasks wait (and of those, are due) and run: the load its heartbeat reports.</summary>
    Task<ActiveCounts> CountActiveByWorkerAsync(string worker, CancellationToken cancellationToken);

    /// <summary>
    /// The primary's rescue, by task, in one fenced write: up to <see cref="RescueRequest.Limit"/> active tasks whose
    /// owner is not a live node (evicted, never registered, or silent past <see cref="RescueRequest.WorkerTimeout"/> by
    /// the database clock, judged in the same write), and the Queued tasks of live nodes that are draining, are taken
    /// from them. A Queued task moves to a live worker that is neither draining nor quarantined (also judged in the
    /// write) with its attempt and due time unchanged. A Running task's attempt was lost with its worker: with
    /// attempts left it is Queued on a live worker as the next attempt, due after the retry backoff; with none left it
    /// ends Failed, saying which worker was lost during which attempt. Each move mints a new attempt token, so a late
    /// write of the lost attempt is refused. With no live worker, only the failures are written.
    /// </summary>
    Task<RescueResult> RescueAsync(RescueRequest request, Leases.Fence fence, CancellationToken cancellationToken);

    /// <summary>
    /// Retention: removes up to <paramref name="limit"/> finished tasks (Succeeded, Failed, Cancelled) that finished
    /// more than <paramref name="age"/> ago by the database's clock, oldest first; returns how many went. Queued and
    /// Running tasks are never removed.
    /// </summary>
    Task<int> DeleteFinishedBeforeAsync(TimeSpan age, int limit, CancellationToken cancellationToken);
}

/// <param name="Due">Of the queued, those whose <see cref="TaskRecord.DueAt"/> has come (by the database clock).</param>
public readonly record struct ActiveCounts(int Queued, int Running, int Due = 0);

/// <param name="WorkerTimeout">A node silent for longer than this (by the database clock) is lost.</param>
/// <param name="Limit">The most tasks one rescue moves.</param>
/// <param name="Backoff">The delay before a rescued running task's next attempt.</param>
public sealed record RescueRequest(TimeSpan WorkerTimeout, int Limit, RetryBackoff Backoff);

/// <param name="Fenced">The caller's epoch no longer holds the lease: nothing was written.</param>
public sealed record RescueResult(bool Fenced, IReadOnlyList<RescuedTask> Tasks);

/// <param name="Worker">The new owner; the lost one for a task that failed.</param>
/// <param name="Status">Queued (moved) or Failed (its last attempt was lost).</param>
/// <param name="Attempt">The task's attempt after the move.</param>
public sealed record RescuedTask(Guid Id, string? PreviousWorker, string? Worker, TaskState Status, int Attempt);

/// <summary>
/// The delay before attempt N (N &gt;= 2): <see cref="Base"/> doubled for each attempt after the second, at most
/// <see cref="Max"/>, then spread by ±20% so retries of a burst do not land together.
/// </summary>
public sealed record RetryBackoff(TimeSpan Base, TimeSpan Max)
{
    public TimeSpan Delay(int nextAttempt, double jitter)
    {
        var exponent = Math.Clamp(nextAttempt - 2, 0, 30);
        var delay = Math.Min(Base.TotalMilliseconds * Math.Pow(2, exponent), Max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(delay * (0.8 + (0.4 * Math.Clamp(jitter, 0, 1))));
    }
}

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
