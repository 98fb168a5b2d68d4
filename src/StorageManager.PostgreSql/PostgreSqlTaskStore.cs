using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.PostgreSql;

internal sealed class PostgreSqlTaskStore(NpgsqlDataSource dataSource, PostgreSqlTables tables) : ITaskStore
{
    private const string Columns =
        "id, type, payload::text, status, attempt, attempt_token, max_attempts, worker, idempotency_key, payload_hash, created_at, started_at, finished_at, result::text, error, job_id, trace_parent, owner";

    // The transition's outcome is read from the column after the task's.
    private static readonly int Width = Columns.Split(',').Length;

    public async Task<CreateResult> CreateAsync(NewTask task, CancellationToken cancellationToken)
    {
        // ON CONFLICT waits for a concurrent insert of the same key to commit or roll back, so
        // exactly one request creates the task and the others find it afterwards.
        await using (var insert = dataSource.CreateCommand(
            $"""
            INSERT INTO {tables.Tasks} (id, type, payload, status, attempt, attempt_token, max_attempts, worker, idempotency_key, payload_hash, created_at, trace_parent, owner)
            VALUES (@id, @type, @payload, 'Queued', 1, @token, @max_attempts, @worker, @key, @hash, now(), @trace_parent, @owner)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING {Columns}
            """))
        {
            insert.Parameters.AddWithValue("id", task.Id);
            insert.Parameters.AddWithValue("type", task.Type);
            insert.Parameters.AddWithValue("payload", NpgsqlDbType.Jsonb, task.Payload);
            insert.Parameters.AddWithValue("token", task.AttemptToken);
            insert.Parameters.AddWithValue("max_attempts", task.MaxAttempts);
            insert.Parameters.AddWithValue("worker", task.Worker);
            insert.Parameters.AddWithValue("key", NpgsqlDbType.Text, (object?)task.IdempotencyKey ?? DBNull.Value);
            insert.Parameters.AddWithValue("hash", task.PayloadHash);
            insert.Parameters.AddWithValue("trace_parent", NpgsqlDbType.Text, (object?)task.TraceParent ?? DBNull.Value);
            insert.Parameters.AddWithValue("owner", NpgsqlDbType.Text, (object?)task.Owner ?? DBNull.Value);
            var created = await ReadSingleAsync(insert, cancellationToken);
            if (created is not null)
            {
                return new CreateResult(CreateOutcome.Created, created);
            }
        }

        await using var existing = dataSource.CreateCommand($"SELECT {Columns} FROM {tables.Tasks} WHERE idempotency_key = @key");
        existing.Parameters.AddWithValue("key", task.IdempotencyKey!);
        var stored = await ReadSingleAsync(existing, cancellationToken)
            ?? throw new InvalidOperationException($"Task with idempotency key '{task.IdempotencyKey}' conflicted on insert but cannot be read.");
        var outcome = stored.PayloadHash == task.PayloadHash ? CreateOutcome.Existing : CreateOutcome.IdempotencyConflict;
        return new CreateResult(outcome, stored);
    }

    public async Task<TaskRecord?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM {tables.Tasks} WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        return await ReadSingleAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<TaskRecord>> ListAsync(TaskQuery query, CancellationToken cancellationToken)
    {
        var conditions = new List<string>();
        await using var command = dataSource.CreateCommand();
        if (query.Status is { } status)
        {
            conditions.Add("status = @status");
            command.Parameters.AddWithValue("status", status.ToString());
        }

        if (query.Type is { } type)
        {
            conditions.Add("type = @type");
            command.Parameters.AddWithValue("type", type);
        }

        if (query.Owner is { } owner)
        {
            conditions.Add("owner = @owner");
            command.Parameters.AddWithValue("owner", owner);
        }

        if (query.After is { } after)
        {
            conditions.Add("id < @after");
            command.Parameters.AddWithValue("after", after);
        }

        var where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        command.CommandText = $"SELECT {Columns} FROM {tables.Tasks} {where} ORDER BY id DESC LIMIT @limit";
        command.Parameters.AddWithValue("limit", query.Limit);
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<TransitionResult> ApplyAsync(TaskTransition transition, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var (assignments, extraCondition) = Describe(transition, command.Parameters);
        var fenced = transition is RequeueTask;
        if (transition is RequeueTask requeue)
        {
            AddFence(command.Parameters, requeue.Fence);
        }

        var conditions = "id = @id AND status = ANY(@from)";
        if (transition.ExpectedToken is { } token)
        {
            conditions += " AND attempt_token = @expected_token";
            command.Parameters.AddWithValue("expected_token", token);
        }

        if (extraCondition is not null)
        {
            conditions += " AND " + extraCondition;
        }

        if (fenced)
        {
            conditions += " AND EXISTS (SELECT 1 FROM fence)";
        }

        // One statement: the conditional update, and when it misses, the row as it stands and
        // whether the fence held, so the caller learns why without a second round trip.
        var missOutcome = fenced ? "CASE WHEN EXISTS (SELECT 1 FROM fence) THEN 'Conflict' ELSE 'Fenced' END" : "'Conflict'";
        command.CommandText =
            $"""
            WITH {(fenced ? tables.FenceCte + "," : "")}
            moved AS (
                UPDATE {tables.Tasks} SET {assignments}
                WHERE {conditions}
                RETURNING {Columns}
            )
            SELECT {Columns}, 'Applied' FROM moved
            UNION ALL
            SELECT {Columns}, {missOutcome} FROM {tables.Tasks} WHERE id = @id AND NOT EXISTS (SELECT 1 FROM moved)
            """;
        command.Parameters.AddWithValue("id", transition.TaskId);
        command.Parameters.AddWithValue("from", transition.From.Select(s => s.ToString()).ToArray());

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return new TransitionResult(TransitionOutcome.NotFound, null);
        }

        var task = ReadTask(reader);
        var outcome = Enum.Parse<TransitionOutcome>(reader.GetString(Width));
        return new TransitionResult(outcome, task);
    }

    public async Task<bool> AttachJobAsync(Guid id, Guid attemptToken, string jobId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"UPDATE {tables.Tasks} SET job_id = @job_id WHERE id = @id AND attempt_token = @token AND status IN ('Queued', 'Running')");
        command.Parameters.AddWithValue("job_id", jobId);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("token", attemptToken);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<TaskRecord>> ListActiveByWorkerAsync(string worker, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM {tables.Tasks} WHERE worker = @worker AND status IN ('Queued', 'Running') ORDER BY id LIMIT @limit");
        command.Parameters.AddWithValue("worker", worker);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<ActiveCounts> CountActiveByWorkerAsync(string worker, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT count(*) FILTER (WHERE status = 'Queued')::int, count(*) FILTER (WHERE status = 'Running')::int
            FROM {tables.Tasks} WHERE worker = @worker AND status IN ('Queued', 'Running')
            """);
        command.Parameters.AddWithValue("worker", worker);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new ActiveCounts(reader.GetInt32(0), reader.GetInt32(1));
    }

    public async Task<IReadOnlyList<TaskRecord>> ListWithoutJobAsync(TimeSpan minimumAge, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM {tables.Tasks} WHERE status = 'Queued' AND job_id IS NULL AND created_at <= now() - @age ORDER BY created_at LIMIT @limit");
        command.Parameters.AddWithValue("age", minimumAge);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<TaskRecord>> ListActiveWithJobAsync(Guid? after, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM {tables.Tasks} WHERE status IN ('Queued', 'Running') AND job_id IS NOT NULL AND id > @after ORDER BY id LIMIT @limit");
        command.Parameters.AddWithValue("after", after ?? Guid.Empty);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadAllAsync(command, cancellationToken);
    }

    private static (string Assignments, string? ExtraCondition) Describe(TaskTransition transition, NpgsqlParameterCollection parameters)
    {
        switch (transition)
        {
            case StartAttempt start:
                parameters.AddWithValue("worker", start.Worker);
                return ("status = 'Running', worker = @worker, started_at = now()", null);
            case CompleteAttempt complete:
                parameters.AddWithValue("result", NpgsqlDbType.Jsonb, complete.Result);
                return ("status = 'Succeeded', result = @result, error = NULL, finished_at = now()", null);
            case FailAttempt fail:
                parameters.AddWithValue("error", fail.Error);
                return ("status = 'Failed', error = @error, finished_at = now()", null);
            case RetryAttempt retry:
                parameters.AddWithValue("error", retry.Error);
                parameters.AddWithValue("next_token", retry.NextToken);
                return (
                    "status = 'Queued', attempt = attempt + 1, attempt_token = @next_token, error = @error, started_at = NULL",
                    "attempt < max_attempts");
            case CancelTask:
                return ("status = 'Cancelled', finished_at = now()", null);
            case RequeueTask requeue:
                parameters.AddWithValue("worker", requeue.Worker);
                parameters.AddWithValue("next_token", requeue.NextToken);
                return (
                    "status = 'Queued', worker = @worker, attempt = attempt + CASE WHEN status = 'Running' THEN 1 ELSE 0 END, attempt_token = @next_token, started_at = NULL, job_id = NULL",
                    null);
            default:
                throw new UnreachableException($"Unknown transition {transition.GetType().Name}.");
        }
    }

    internal static void AddFence(NpgsqlParameterCollection parameters, Leases.Fence fence)
    {
        parameters.AddWithValue("lease_name", fence.LeaseName);
        parameters.AddWithValue("lease_holder", fence.Holder);
        parameters.AddWithValue("lease_epoch", fence.Epoch);
    }

    private static TaskRecord ReadTask(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetGuid(0),
        Type = reader.GetString(1),
        Payload = reader.GetString(2),
        Status = Enum.Parse<TaskState>(reader.GetString(3)),
        Attempt = reader.GetInt32(4),
        AttemptToken = reader.GetGuid(5),
        MaxAttempts = reader.GetInt32(6),
        Worker = reader.IsDBNull(7) ? null : reader.GetString(7),
        IdempotencyKey = reader.IsDBNull(8) ? null : reader.GetString(8),
        PayloadHash = reader.IsDBNull(9) ? null : reader.GetString(9),
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(10),
        StartedAt = reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
        FinishedAt = reader.IsDBNull(12) ? null : reader.GetFieldValue<DateTimeOffset>(12),
        Result = reader.IsDBNull(13) ? null : reader.GetString(13),
        Error = reader.IsDBNull(14) ? null : reader.GetString(14),
        JobId = reader.IsDBNull(15) ? null : reader.GetString(15),
        TraceParent = reader.IsDBNull(16) ? null : reader.GetString(16),
        Owner = reader.IsDBNull(17) ? null : reader.GetString(17),
    };

    private static async Task<TaskRecord?> ReadSingleAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadTask(reader) : null;
    }

    private static async Task<IReadOnlyList<TaskRecord>> ReadAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var tasks = new List<TaskRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            tasks.Add(ReadTask(reader));
        }

        return tasks;
    }
}
