namespace TaskServer.StorageManager.Tasks;

/// <summary>Where a task is in its life. Named <c>TaskState</c> so it never collides with <see cref="System.Threading.Tasks.TaskStatus"/>.</summary>
public enum TaskState
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

public static class TaskStateExtensions
{
    public static bool IsFinal(this TaskState state) =>
        state is TaskState.Succeeded or TaskState.Failed or TaskState.Cancelled;
}
