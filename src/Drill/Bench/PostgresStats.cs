using Npgsql;

namespace TaskServer.Drill.Bench;

/// <summary>
/// The database's own counters for one database, when they were read (ms since the run's start): statements
/// executed (pg_stat_statements, counted as each ends), transactions committed (pg_stat_database.xact_commit,
/// published late: see <see cref="PostgresStats.FlushDelay"/>) and transaction ids assigned (every transaction
/// that wrote, counted at once).
/// </summary>
internal sealed record DatabaseCounters(double AtMs, long? Statements, long Commits, long Transactions, string? StatementsUnavailable);

/// <summary>Statements, commits and writing transactions per task over a phase, as measured and net of the background rate of an idle cluster.</summary>
internal sealed record DatabaseWork(
    double? StatementsPerTask,
    double CommitsPerTask,
    double WriteTransactionsPerTask,
    double? NetStatementsPerTask,
    double NetCommitsPerTask,
    double? BackgroundStatementsPerS,
    double BackgroundCommitsPerS)
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
            Math.Round((after.Transactions - idleAfter.Transactions) / (double)tasks, 1),
            statements is { } calls && backgroundStatements is { } rate ? Math.Round((calls - (rate * phaseSeconds)) / tasks, 1) : null,
            Math.Round((commits - (backgroundCommits * phaseSeconds)) / tasks, 1),
            backgroundStatements is { } perSecond ? Math.Round(perSecond, 1) : null,
            Math.Round(backgroundCommits, 1));
    }
}

/// <summary>Reads the counters DESIGN asks the bench to divide by tasks: pg_stat_statements calls and pg_stat_database.xact_commit.</summary>
internal sealed class PostgresStats(string connectionString, Load.RunClock clock)
{
    /// <summary>
    /// PostgreSQL 15 keeps a backend's transaction counts in the backend until it flushes them: at most once a
    /// second while it works, and up to 10 s after it goes idle (PGSTAT_IDLE_INTERVAL). A read of
    /// xact_commit sooner than this after the work misses commits; pg_stat_statements and the transaction id
    /// counter need no wait.
    /// </summary>
    public static readonly TimeSpan FlushDelay = TimeSpan.FromSeconds(11);

    /// <summary>Makes pg_stat_statements readable in this database if the server preloads it; returns why not otherwise.</summary>
    public async Task<string?> PrepareAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return null;
        }
        catch (PostgresException e)
        {
            return $"CREATE EXTENSION pg_stat_statements failed: {e.MessageText}";
        }
    }

    /// <summary>The counters as of now; call it <see cref="FlushDelay"/> after the work when the commits must be complete.</summary>
    public async Task<DatabaseCounters> SnapshotAsync(CancellationToken cancellationToken)
    {
        var at = clock.NowMs;
        var commits = await ScalarAsync("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", cancellationToken);

        // xid8 as text: the 64-bit counter, one per transaction that wrote (on any database of the server).
        var transactions = await ScalarAsync("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint", cancellationToken);
        try
        {
            var statements = await ScalarAsync(
                "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                cancellationToken);
            return new DatabaseCounters(at, statements, commits, transactions, null);
        }
        catch (PostgresException e)
        {
            return new DatabaseCounters(at, null, commits, transactions, $"pg_stat_statements unavailable: {e.MessageText}");
        }
    }

    /// <summary>The postmaster's pid: the parent of this connection's backend (the drill runs on the database's machine).</summary>
    public async Task<int> BackendPidAsync(CancellationToken cancellationToken) =>
        (int)await ScalarAsync("SELECT pg_backend_pid()", cancellationToken);

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private async Task<long> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }
}
