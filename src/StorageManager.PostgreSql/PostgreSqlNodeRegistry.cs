using Npgsql;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.PostgreSql;

internal sealed class PostgreSqlNodeRegistry(NpgsqlDataSource dataSource, PostgreSqlTables tables) : INodeRegistry
{
    private const string Columns = "node_id, role, url, queued, running, capacity, last_seen, clock_timestamp() - last_seen, quarantined, draining";

    public async Task HeartbeatAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            INSERT INTO {tables.Nodes} (node_id, role, url, queued, running, capacity, quarantined, draining, last_seen)
            VALUES (@id, @role, @url, @queued, @running, @capacity, @quarantined, @draining, clock_timestamp())
            ON CONFLICT (node_id) DO UPDATE
                SET role = excluded.role, url = excluded.url, queued = excluded.queued, running = excluded.running,
                    capacity = excluded.capacity, quarantined = excluded.quarantined, draining = excluded.draining, last_seen = excluded.last_seen
            """);
        command.Parameters.AddWithValue("id", heartbeat.NodeId);
        command.Parameters.AddWithValue("role", heartbeat.Role.ToString());
        command.Parameters.AddWithValue("url", heartbeat.Url);
        command.Parameters.AddWithValue("queued", heartbeat.Load.Queued);
        command.Parameters.AddWithValue("running", heartbeat.Load.Running);
        command.Parameters.AddWithValue("capacity", heartbeat.Load.Capacity);
        command.Parameters.AddWithValue("quarantined", heartbeat.Load.Quarantined);
        command.Parameters.AddWithValue("draining", heartbeat.Load.Draining);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<ActiveCounts> HeartbeatWithLoadAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        // The count a worker's load report needs and the heartbeat that reports it, in one statement: on an idle
        // cluster these were half of all statements.
        await using var command = dataSource.CreateCommand(
            $"""
            WITH load AS ({tables.ActiveCounts}),
            beat AS (
                INSERT INTO {tables.Nodes} (node_id, role, url, queued, running, capacity, quarantined, draining, last_seen)
                SELECT @id, @role, @url, queued, running, @capacity, @quarantined, @draining, clock_timestamp() FROM load
                ON CONFLICT (node_id) DO UPDATE
                    SET role = excluded.role, url = excluded.url, queued = excluded.queued, running = excluded.running,
                        capacity = excluded.capacity, quarantined = excluded.quarantined, draining = excluded.draining, last_seen = excluded.last_seen
                RETURNING 1)
            SELECT queued, running, due FROM load, beat
            """);
        command.Parameters.AddWithValue("id", heartbeat.NodeId);
        command.Parameters.AddWithValue("worker", heartbeat.NodeId);
        command.Parameters.AddWithValue("role", heartbeat.Role.ToString());
        command.Parameters.AddWithValue("url", heartbeat.Url);
        command.Parameters.AddWithValue("capacity", heartbeat.Load.Capacity);
        command.Parameters.AddWithValue("quarantined", heartbeat.Load.Quarantined);
        command.Parameters.AddWithValue("draining", heartbeat.Load.Draining);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new ActiveCounts(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2));
    }

    public async Task<IReadOnlyList<NodeRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM {tables.Nodes} ORDER BY node_id");
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<NodeRecord>> ListLiveAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM {tables.Nodes} WHERE last_seen > clock_timestamp() - @timeout ORDER BY node_id");
        command.Parameters.AddWithValue("timeout", timeout);
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<EvictOutcome> EvictAsync(string nodeId, TimeSpan timeout, Fence fence, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            WITH {tables.FenceCte},
            evicted AS (
                DELETE FROM {tables.Nodes}
                WHERE node_id = @id AND last_seen <= clock_timestamp() - @timeout AND EXISTS (SELECT 1 FROM fence)
                  AND NOT EXISTS (SELECT 1 FROM {tables.Tasks} WHERE worker = @id AND status IN ('Queued', 'Running'))
                RETURNING 1
            )
            SELECT EXISTS (SELECT 1 FROM fence), EXISTS (SELECT 1 FROM evicted)
            """);
        PostgreSqlTaskStore.AddFence(command.Parameters, fence);
        command.Parameters.AddWithValue("id", nodeId);
        command.Parameters.AddWithValue("timeout", timeout);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetBoolean(0), reader.GetBoolean(1)) switch
        {
            (false, _) => EvictOutcome.Fenced,
            (true, true) => EvictOutcome.Evicted,
            (true, false) => EvictOutcome.NotStale,
        };
    }

    public async Task LeaveAsync(string nodeId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"DELETE FROM {tables.Nodes} WHERE node_id = @id");
        command.Parameters.AddWithValue("id", nodeId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<IReadOnlyList<NodeRecord>> ReadAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var nodes = new List<NodeRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            nodes.Add(new NodeRecord(
                reader.GetString(0),
                Enum.Parse<NodeRole>(reader.GetString(1)),
                reader.GetString(2),
                new NodeLoad(reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5), reader.GetBoolean(8), reader.GetBoolean(9)),
                reader.GetFieldValue<DateTimeOffset>(6),
                reader.GetFieldValue<TimeSpan>(7)));
        }

        return nodes;
    }
}
