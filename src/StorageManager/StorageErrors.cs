using System.Net.Sockets;

namespace TaskServer.StorageManager;

/// <summary>What a provider knows of its driver's errors: which of them mean the database cannot be reached now.</summary>
public interface IStorageErrorClassifier
{
    /// <summary>True when this one exception (not what it wraps) means the database is unreachable or overloaded.</summary>
    bool IsUnavailable(Exception exception);
}

/// <summary>Tells a database that cannot be reached (retry later) from a bug (do not), whatever the provider.</summary>
public sealed class StorageErrors(IStorageErrorClassifier provider)
{
    /// <summary>True when the exception, or one it wraps (Hangfire wraps its storage's errors), means the database is unreachable or overloaded.</summary>
    public bool IsUnavailable(Exception exception) => exception switch
    {
        TimeoutException or SocketException => true,
        _ when provider.IsUnavailable(exception) => true,
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };
}
