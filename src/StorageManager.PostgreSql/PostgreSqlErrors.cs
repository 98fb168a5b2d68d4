using Npgsql;

namespace TaskServer.StorageManager.PostgreSql;

/// <summary>Npgsql's errors that mean the server is out of reach, refusing connections or shutting down.</summary>
internal sealed class PostgreSqlErrors : IStorageErrorClassifier
{
    public bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.IsTransient || postgres.SqlState.StartsWith("08", StringComparison.Ordinal) || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException => true,
        _ => false,
    };
}
