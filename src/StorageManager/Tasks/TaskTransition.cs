namespace TaskServer.StorageManager.Tasks;

/// <summary>
/// A change of a task's state. The set is closed (the constructor is private to this assembly and
/// every case is sealed), and the stores accept nothing else, so a move the state machine does not
/// allow cannot be expressed: there is no "set status" anywhere.
/// Each case names the states it may leave and the one it reaches; the stores turn
/// <see cref="From"/> and <see cref="ExpectedToken"/> into the condition of one atomic write.
/// </summary>
/// <remarks>A class, not a record: a record's copy constructor is protected, which would let any assembly derive a new case.</remarks>
public abstract class TaskTransition
{
    private protected TaskTransition(Guid taskId) => TaskId = taskId;

    public Guid TaskId { get; }

    public abstract IReadOnlyList<TaskState> From { get; }

    public abstract TaskState Target { get; }

    /// <summary>The attempt the writer belongs to; null where any attempt may be overridden (cancel).</summary>
    public abstract Guid? ExpectedToken { get; }
}

/// <summary>An executor picks up the current attempt: Queued -> Running.</summary>
public sealed class StartAttempt(Guid taskId, Guid attemptToken, string worker) : TaskTransition(taskId)
{
    public Guid AttemptToken { get; } = attemptToken;
    public string Worker { get; } = worker;

    public override IReadOnlyList<TaskState> From => TaskStateMachine.QueuedOnly;
    public override TaskState Target => TaskState.Running;
    public override Guid? ExpectedToken => AttemptToken;
}

/// <summary>The current attempt finished well: Running -> Succeeded.</summary>
public sealed class CompleteAttempt(Guid taskId, Guid attemptToken, string result) : TaskTransition(taskId)
{
    public Guid AttemptToken { get; } = attemptToken;
    public string Result { get; } = result;

    public override IReadOnlyList<TaskState> From => TaskStateMachine.RunningOnly;
    public override TaskState Target => TaskState.Succeeded;
    public override Guid? ExpectedToken => AttemptToken;
}

/// <summary>The current attempt failed and no attempt is left (or the failure is final): Running -> Failed.</summary>
public sealed class FailAttempt(Guid taskId, Guid attemptToken, string error) : TaskTransition(taskId)
{
    public Guid AttemptToken { get; } = attemptToken;
    public string Error { get; } = error;

    public override IReadOnlyList<TaskState> From => TaskStateMachine.RunningOnly;
    public override TaskState Target => TaskState.Failed;
    public override Guid? ExpectedToken => AttemptToken;
}

/// <summary>
/// The current attempt failed and another is allowed: Running -> Queued with the next attempt number
/// and <see cref="NextToken"/>, due after <see cref="Delay"/> (the backoff, by the database clock).
/// The store applies it only while attempt &lt; maxAttempts. With a <see cref="Worker"/>, the next attempt is that
/// worker's: a worker whose result failed verification hands the retry to another instead of repeating it itself.
/// </summary>
public sealed class RetryAttempt(Guid taskId, Guid attemptToken, string error, Guid nextToken, TimeSpan delay = default, string? worker = null) : TaskTransition(taskId)
{
    public Guid AttemptToken { get; } = attemptToken;
    public string Error { get; } = error;
    public Guid NextToken { get; } = nextToken;
    public TimeSpan Delay { get; } = delay;

    /// <summary>The worker that owns the next attempt; null keeps the task with the worker that ran this one.</summary>
    public string? Worker { get; } = worker;

    public override IReadOnlyList<TaskState> From => TaskStateMachine.RunningOnly;
    public override TaskState Target => TaskState.Queued;
    public override Guid? ExpectedToken => AttemptToken;
}

/// <summary>
/// Queued or Running -> Cancelled. A client's cancel names no attempt and wins over any; an executor
/// whose own attempt was aborted names its token, so it can never cancel a newer attempt.
/// </summary>
public sealed class CancelTask(Guid taskId, Guid? attemptToken = null) : TaskTransition(taskId)
{
    public override IReadOnlyList<TaskState> From => TaskStateMachine.Active;
    public override TaskState Target => TaskState.Cancelled;
    public override Guid? ExpectedToken => attemptToken;
}

/// <summary>
/// A worker gives back an attempt it could not finish because it is shutting down: Running -> Queued with the same
/// attempt number (the attempt is not spent: its handler was stopped through its token, not lost) and
/// <see cref="NextToken"/>, due at once. The worker is draining, so the primary hands the task to another.
/// </summary>
public sealed class ReleaseAttempt(Guid taskId, Guid attemptToken, Guid nextToken) : TaskTransition(taskId)
{
    public Guid AttemptToken { get; } = attemptToken;
    public Guid NextToken { get; } = nextToken;

    public override IReadOnlyList<TaskState> From => TaskStateMachine.RunningOnly;
    public override TaskState Target => TaskState.Queued;
    public override Guid? ExpectedToken => AttemptToken;
}

public enum TransitionOutcome
{
    Applied,
    /// <summary>The task is not in an allowed state, or the attempt token is stale.</summary>
    Conflict,
    NotFound,
}

/// <param name="Task">The task after the write when applied; as it stands when the write missed (null if not found).</param>
public readonly record struct TransitionResult(TransitionOutcome Outcome, TaskRecord? Task)
{
    public bool Applied => Outcome == TransitionOutcome.Applied;
}
