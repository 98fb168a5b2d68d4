namespace TaskServer.Host.Execution;

/// <summary>A handler failed its attempt; the attempt's outcome (retry or failure) is on record before this is thrown.</summary>
public sealed class AttemptFailedException : Exception
{
    public AttemptFailedException()
    {
    }

    public AttemptFailedException(string message)
        : base(message)
    {
    }

    public AttemptFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
