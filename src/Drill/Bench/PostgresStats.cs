using Npgsql;

namespace TaskServer.Drill.Bench;

/// <summary>The database's own counters for one database, when they were read (ms since the run's start): statements executed (pg_stat_statements) and transactions committed.</summary>
internal sealed record DatabaseCounters(double AtMs, long? Statements, long Commits, string? StatementsUnavailable);

/// <summary>Statements and commits per task over a phase, as measured and net of the background rate of an idle cluster.</summary>
internal sealed record DatabaseWork(double? StatementsPerTask, double CommitsPerTask, double? NetStatementsPerTask, double NetCommitsPerTask, double? BackgroundStatementsPerS, double BackgroundCommitsPerS)
{
    /// <param name="idleBefore">Counters at the start of an idle interval ...</param>
    /// <param name="idleAfter">... and at its end, which is also the start of the phase.</param>
    /// <param name="after">Counters at the end of the phase.</param>
    public static DatabaseWork? Of(DatabaseCounters idleBefore, DatabaseCounters idleAfter, DatabaseCounters after, int tasks)
    {
        if (tasks == 0)
        {
            return null;
        }

        var idleSeconds = Math.Max(0.001, (idleAfter.AtMs - idleBefore.AtMs) / 1000);
        var phaseSeconds = (after.AtMs - idleAfter.AtMs) / 1000;
        var backgroundCommits = (idleAfter.Commits - idleBefore.Commits) / idleSeconds;
        var commits = after.Commits - idleAfter.Commits;
        double? backgroundStatements = idleAfter.Statements - idleBefore.Statements is { } idleCalls ? idleCalls / idleSeconds : null;
        var statements = after.Statements - idleAfter.Statements;
        return new DatabaseWork(
            statements is { } total ? Math.Round(total / (double)tasks, 1) : null,
            Math.Round(commits / (double)tasks, 1),
            statements is { } calls && backgroundStatements is { } rate ? Math.Round((calls - (rate * phaseSeconds)) / tasks, 1) : null,
            Math.Round((commits - (backgroundCommits * phaseSeconds)) / tasks, 1),
            backgroundStatements is { } perSecond ? Math.Round(perSecond, 1) : null,
            Math.Round(backgroundCommits, 1));
    }
}

/// <summary>Reads the counters DESIGN asks the bench to divide by tasks: pg_stat_statements calls and pg_stat_database.xact_commit.</summary>
internal sealed class PostgresStats(string connectionString, Load.RunClock clock)
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
        var at = clock.NowMs;
        var commits = await ScalarAsync("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", cancellationToken);
        try
        {
            var statements = await ScalarAsync(
                "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                cancellationToken);
            return new DatabaseCounters(at, statements, commits, null);
        }
        catch (PostgresException e)
        {
            return new DatabaseCounters(at, null, commits, $"pg_stat_statements unavailable: {e.MessageText}");
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
