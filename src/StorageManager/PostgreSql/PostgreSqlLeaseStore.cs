using Npgsql;
using TaskServer.StorageManager.Leases;

namespace TaskServer.StorageManager.PostgreSql;

/// <summary>
/// Leases on PostgreSQL. clock_timestamp() rather than now(): a statement that waited for the
/// lease row's lock must judge expiry at the moment it writes, not when its transaction began.
/// </summary>
internal sealed class PostgreSqlLeaseStore(NpgsqlDataSource dataSource, PostgreSqlTables tables) : ILeaseStore
{
    private const string Returning = "RETURNING name, holder, holder_url, epoch, expires_at, clock_timestamp()";

    public async Task<LeaseResult> TryAcquireAsync(string name, string holder, string holderUrl, TimeSpan ttl, CancellationToken cancellationToken)
    {
        // Concurrent contenders serialize on the row: each re-checks expiry after the previous
        // winner committed, so exactly one of them gets the next epoch.
        await using var command = dataSource.CreateCommand(
            $"""
            INSERT INTO {tables.Leases} AS l (name, holder, holder_url, epoch, expires_at)
            VALUES (@name, @holder, @url, 1, clock_timestamp() + @ttl)
            ON CONFLICT (name) DO UPDATE
                SET holder = excluded.holder, holder_url = excluded.holder_url, epoch = l.epoch + 1, expires_at = clock_timestamp() + @ttl
                WHERE l.expires_at <= clock_timestamp()
            {Returning}
            """);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("holder", holder);
        command.Parameters.AddWithValue("url", holderUrl);
        command.Parameters.AddWithValue("ttl", ttl);
        return await ReadResultAsync(command, cancellationToken);
    }

    public async Task<LeaseResult> TryRenewAsync(Fence fence, TimeSpan ttl, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            UPDATE {tables.Leases} SET expires_at = clock_timestamp() + @ttl
            WHERE name = @lease_name AND holder = @lease_holder AND epoch = @lease_epoch AND expires_at > clock_timestamp()
            {Returning}
            """);
        PostgreSqlTaskStore.AddFence(command.Parameters, fence);
        command.Parameters.AddWithValue("ttl", ttl);
        return await ReadResultAsync(command, cancellationToken);
    }

    public async Task<bool> ReleaseAsync(Fence fence, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            UPDATE {tables.Leases} SET expires_at = clock_timestamp()
            WHERE name = @lease_name AND holder = @lease_holder AND epoch = @lease_epoch AND expires_at > clock_timestamp()
            """);
        PostgreSqlTaskStore.AddFence(command.Parameters, fence);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<Lease?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT name, holder, holder_url, epoch, expires_at, clock_timestamp() FROM {tables.Leases} WHERE name = @name");
        command.Parameters.AddWithValue("name", name);
        return (await ReadResultAsync(command, cancellationToken)).Lease;
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
