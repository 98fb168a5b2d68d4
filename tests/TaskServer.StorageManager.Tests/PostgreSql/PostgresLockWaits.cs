using Npgsql;

namespace TaskServer.StorageManager.Tests.PostgreSql;

/// <summary>For tests that replay an interleaving with real locks: the point at which a statement is blocked.</summary>
internal static class PostgresLockWaits
{
    /// <summary>Returns once some session of this database waits on a lock (30 s at most).</summary>
    public static async Task UntilSomeoneWaitsAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var waiting = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", connection);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while ((long)(await waiting.ExecuteScalarAsync(deadline.Token))! == 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), deadline.Token);
        }
    }
}
