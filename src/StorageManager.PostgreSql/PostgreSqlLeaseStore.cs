using System.Collections.Concurrent;
using Npgsql;
using TaskServer.StorageManager.Leases;

namespace TaskServer.StorageManager.PostgreSql;

/// <summary>
/// Leases on PostgreSQL, with the holder's database session as evidence of life.
/// The holder acquires and renews through one connection it keeps open, and the lease row records that
/// backend (pid and start time). A contender may take the lease when it has expired, or earlier when
/// that backend no longer exists: a crashed holder's socket closes with its process, and PostgreSQL ends
/// the session at once, so a successor need not wait out the TTL. Writes of a holder that is in fact
/// alive are still stopped by the epoch (fencing), and its next renewal fails.
/// clock_timestamp() rather than now(): a statement that waited for the row lock must judge expiry
/// when it writes, not when its transaction began.
/// </summary>
internal sealed class PostgreSqlLeaseStore(NpgsqlDataSource dataSource, PostgreSqlLeaseSessions holderSessions, PostgreSqlTables tables) : ILeaseStore, IAsyncDisposable
{
    private const string Returning = "RETURNING name, holder, holder_url, epoch, expires_at, clock_timestamp()";

    /// <summary>pg_stat_activity may hide backend_start from other roles: then a live pid alone counts as alive.</summary>
    private const string HolderSessionGone =
        "(l.holder_pid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.holder_pid AND (a.backend_start IS NULL OR a.backend_start = l.holder_session_start)))";

    private readonly ConcurrentDictionary<string, NpgsqlConnection> sessions = new(StringComparer.Ordinal);

    public async Task<LeaseResult> TryAcquireAsync(string name, string holder, string holderUrl, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var session = await holderSessions.OpenAsync(cancellationToken);
        try
        {
            // Contenders serialize on the row: each re-checks the condition after the previous winner
            // committed, so exactly one of them gets the next epoch. The row is locked FOR UPDATE first: a fenced
            // write holds it FOR KEY SHARE, which the upsert's own lock (a no-key update) would pass, and a new epoch
            // must wait for a write made under the old one to commit.
            await using var command = new NpgsqlCommand(
                $"""
                WITH held AS MATERIALIZED (SELECT name FROM {tables.Leases} WHERE name = @name FOR UPDATE)
                INSERT INTO {tables.Leases} AS l (name, holder, holder_url, epoch, expires_at, holder_pid, holder_session_start)
                SELECT @name, @holder, @url, 1, clock_timestamp() + @ttl, pg_backend_pid(), (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
                WHERE (SELECT count(*) FROM held) >= 0
                ON CONFLICT (name) DO UPDATE
                    SET holder = excluded.holder, holder_url = excluded.holder_url, epoch = l.epoch + 1, expires_at = clock_timestamp() + @ttl,
                        holder_pid = excluded.holder_pid, holder_session_start = excluded.holder_session_start
                    WHERE l.expires_at <= clock_timestamp() OR {HolderSessionGone}
                {Returning}
                """,
                session);
            command.Parameters.AddWithValue("name", name);
            command.Parameters.AddWithValue("holder", holder);
            command.Parameters.AddWithValue("url", holderUrl);
            command.Parameters.AddWithValue("ttl", ttl);
            var result = await ReadResultAsync(command, cancellationToken);
            if (!result.Succeeded)
            {
                await session.DisposeAsync();
                return result;
            }

            if (sessions.TryGetValue(name, out var previous) && sessions.TryUpdate(name, session, previous))
            {
                await previous.DisposeAsync();
            }
            else
            {
                sessions[name] = session;
            }

            return result;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    public async Task<LeaseResult> TryRenewAsync(Fence fence, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (!sessions.TryGetValue(fence.LeaseName, out var session))
        {
            return LeaseResult.Failed;
        }

        try
        {
            await using var command = new NpgsqlCommand(
                $"""
                UPDATE {tables.Leases} SET expires_at = clock_timestamp() + @ttl
                WHERE name = @lease_name AND holder = @lease_holder AND epoch = @lease_epoch AND expires_at > clock_timestamp() AND holder_pid = pg_backend_pid()
                {Returning}
                """,
                session);
            PostgreSqlTaskStore.AddFence(command.Parameters, fence);
            command.Parameters.AddWithValue("ttl", ttl);
            return await ReadResultAsync(command, cancellationToken);
        }
        catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException)
        {
            // The session is gone, and with it the evidence the lease rests on: this holder cannot renew.
            await DropSessionAsync(fence.LeaseName, session);
            return LeaseResult.Failed;
        }
    }

    public async Task<bool> ReleaseAsync(Fence fence, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            UPDATE {tables.Leases} SET expires_at = clock_timestamp()
            WHERE name = @lease_name AND holder = @lease_holder AND epoch = @lease_epoch AND expires_at > clock_timestamp()
            """);
        PostgreSqlTaskStore.AddFence(command.Parameters, fence);
        var released = await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        if (released && sessions.TryGetValue(fence.LeaseName, out var session))
        {
            await DropSessionAsync(fence.LeaseName, session);
        }

        return released;
    }

    public async Task<Lease?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT name, holder, holder_url, epoch, expires_at, clock_timestamp() FROM {tables.Leases} WHERE name = @name");
        command.Parameters.AddWithValue("name", name);
        return (await ReadResultAsync(command, cancellationToken)).Lease;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var session in sessions.Values)
        {
            await session.DisposeAsync();
        }

        sessions.Clear();
    }

    private async Task DropSessionAsync(string leaseName, NpgsqlConnection session)
    {
        if (sessions.TryRemove(new KeyValuePair<string, NpgsqlConnection>(leaseName, session)))
        {
            await session.DisposeAsync();
        }
    }

    private static async Task<LeaseResult> ReadResultAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return LeaseResult.Failed;
        }

        var lease = new Lease(
            reader.GetString(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetInt64(3),
            reader.GetFieldValue<DateTimeOffset>(4),
            reader.GetFieldValue<DateTimeOffset>(5));
        return new LeaseResult(true, lease);
    }
}
