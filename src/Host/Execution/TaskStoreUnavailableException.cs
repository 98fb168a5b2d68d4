namespace TaskServer.Host.Execution;

/// <summary>
/// An attempt could not read or record its state because the database was out of reach. Hangfire retries the
/// job for this exception only (<see cref="TaskJob.RunAsync"/>): the attempt either has not started, and the
/// retry starts it, or has run without its outcome on record, and the retry treats that run as lost.
/// </summary>
public sealed class TaskStoreUnavailableException : Exception
{
    public TaskStoreUnavailableException()
    {
    }

    public TaskStoreUnavailableException(string message)
        : base(message)
    {
    }

    public TaskStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
