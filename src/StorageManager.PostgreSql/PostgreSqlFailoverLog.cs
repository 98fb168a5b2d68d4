using Npgsql;
using TaskServer.StorageManager.Failovers;

namespace TaskServer.StorageManager.PostgreSql;

internal sealed class PostgreSqlFailoverLog(NpgsqlDataSource dataSource, PostgreSqlTables tables) : IFailoverLog
{
    public async Task RecordAsync(FailoverEvent failover, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            INSERT INTO {tables.Failovers} (id, lease_name, old_holder, new_holder, epoch, last_contact_at, suspected_at, promoted_at)
            VALUES (@id, @lease, @old, @new, @epoch, @contact, @suspected, @promoted)
            """);
        command.Parameters.AddWithValue("id", failover.Id);
        command.Parameters.AddWithValue("lease", failover.LeaseName);
        command.Parameters.AddWithValue("old", (object?)failover.OldHolder ?? DBNull.Value);
        command.Parameters.AddWithValue("new", failover.NewHolder);
        command.Parameters.AddWithValue("epoch", failover.Epoch);
        command.Parameters.AddWithValue("contact", (object?)failover.LastContactAt ?? DBNull.Value);
        command.Parameters.AddWithValue("suspected", (object?)failover.SuspectedAt ?? DBNull.Value);
        command.Parameters.AddWithValue("promoted", failover.PromotedAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<FailoverEvent>> ListAsync(string leaseName, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT id, lease_name, old_holder, new_holder, epoch, last_contact_at, suspected_at, promoted_at
            FROM {tables.Failovers} WHERE lease_name = @lease ORDER BY promoted_at DESC LIMIT @limit
            """);
        command.Parameters.AddWithValue("lease", leaseName);
        command.Parameters.AddWithValue("limit", limit);
        var events = new List<FailoverEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new FailoverEvent(
                reader.GetGuid(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3),
                reader.GetInt64(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                reader.GetFieldValue<DateTimeOffset>(7)));
        }

        return events;
    }
}
