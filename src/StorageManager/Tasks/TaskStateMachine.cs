namespace TaskServer.StorageManager.Tasks;

/// <summary>The moves the closed set of <see cref="TaskTransition"/>s allows, as a table tests and docs can read.</summary>
public static class TaskStateMachine
{
    internal static readonly IReadOnlyList<TaskState> QueuedOnly = [TaskState.Queued];
    internal static readonly IReadOnlyList<TaskState> RunningOnly = [TaskState.Running];
    internal static readonly IReadOnlyList<TaskState> Active = [TaskState.Queued, TaskState.Running];

    /// <summary>
    /// Every (from, to) pair some transition can make. The primary's rescue (<see cref="ITaskStore.RescueAsync"/>) is
    /// not a transition but makes only moves in this table too: Queued stays Queued (a new owner), Running becomes
    /// Queued or Failed.
    /// </summary>
    public static IReadOnlySet<(TaskState From, TaskState To)> AllowedMoves { get; } = new HashSet<(TaskState, TaskState)>
    {
        (TaskState.Queued, TaskState.Running),
        (TaskState.Running, TaskState.Succeeded),
        (TaskState.Running, TaskState.Failed),
        (TaskState.Running, TaskState.Queued),
        (TaskState.Queued, TaskState.Cancelled),
        (TaskState.Running, TaskState.Cancelled),
    };

    public static bool CanMove(TaskState from, TaskState to) => AllowedMoves.Contains((from, to));
}
