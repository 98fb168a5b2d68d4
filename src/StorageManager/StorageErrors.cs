using System.Net.Sockets;
using MongoDB.Driver;
using Npgsql;

namespace TaskServer.StorageManager;

/// <summary>Tells a database that cannot be reached (retry later) from a bug (do not), whatever the provider.</summary>
public static class StorageErrors
{
    /// <summary>True when the exception, or one it wraps (Hangfire wraps its storage's errors), means the database is unreachable or overloaded.</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.IsTransient || postgres.SqlState.StartsWith("08", StringComparison.Ordinal) || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException => true,
        MongoConnectionException or MongoNotPrimaryException or MongoNodeIsRecoveringException or MongoExecutionTimeoutException or MongoWaitQueueFullException => true,
        TimeoutException or SocketException => true,
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };
}
