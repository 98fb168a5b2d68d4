namespace TaskServer.StorageManager.Tasks;

/// <summary>
/// A provider cannot store this task as submitted (a payload over its size limit, a number it cannot keep exactly):
/// the submitter's error, told apart from a bug. Thrown before anything is written.
/// </summary>
public sealed class TaskNotStorableException : Exception
{
    public TaskNotStorableException()
    {
    }

    public TaskNotStorableException(string message)
        : base(message)
    {
    }

    public TaskNotStorableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
