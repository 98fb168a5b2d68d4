using Npgsql;

namespace TaskServer.Drill.Bench;

/// <summary>The database's own counters for one database: statements executed (pg_stat_statements) and transactions committed.</summary>
internal sealed record DatabaseCounters(long? Statements, long Commits, string? StatementsUnavailable);

/// <summary>Reads the counters DESIGN asks the bench to divide by tasks: pg_stat_statements calls and pg_stat_database.xact_commit.</summary>
internal sealed class PostgresStats(string connectionString)
{
    /// <summary>Makes pg_stat_statements readable in this database if the server preloads it; returns why not otherwise.</summary>
    public async Task<string?> PrepareAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", cancellationToken);
            return null;
        }
        catch (PostgresException e)
        {
            return $"CREATE EXTENSION pg_stat_statements failed: {e.MessageText}";
        }
    }

    public async Task<DatabaseCounters> SnapshotAsync(CancellationToken cancellationToken)
    {
        // xact_commit is flushed by each backend at most once a second: a snapshot right after the work
        // would miss the last second of commits.
        await Task.Delay(TimeSpan.FromSeconds(1.5), cancellationToken);
        var commits = await ScalarAsync("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", cancellationToken);
        try
        {
            var statements = await ScalarAsync(
                "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                cancellationToken);
            return new DatabaseCounters(statements, commits, null);
        }
        catch (PostgresException e)
        {
            return new DatabaseCounters(null, commits, $"pg_stat_statements unavailable: {e.MessageText}");
        }
    }

    private async Task<long> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
