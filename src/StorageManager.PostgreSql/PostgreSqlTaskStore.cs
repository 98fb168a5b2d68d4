using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.PostgreSql;

internal sealed class PostgreSqlTaskStore(NpgsqlDataSource dataSource, PostgreSqlTables tables) : ITaskStore
{
    private const string Columns =
        "id, type, payload::text, status, attempt, attempt_token, max_attempts, worker, idempotency_key, payload_hash, created_at, started_at, finished_at, result::text, error, timeout_ms, trace_parent, owner, due_at, history::text";

    // The transition's outcome is read from the column after the task's.
    private static readonly int Width = Columns.Split(',').Length;


    public async Task<CreateResult> CreateAsync(NewTask task, CancellationToken cancellationToken) =>
        (await CreateManyAsync([task], cancellationToken))[0];

    public async Task<IReadOnlyList<CreateResult>> CreateManyAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken)
    {
        // One statement, one commit for the whole set. ON CONFLICT waits for a concurrent insert of the same key to
        // commit or roll back, so exactly one request creates the task and the others find it afterwards; a key
        // repeated inside the set is inserted once. It names no constraint: a set sent again after a commit whose
        // reply was lost conflicts on the id, and finds its own rows below instead of failing.
        await using var insert = dataSource.CreateCommand(
            $"""
            INSERT INTO {tables.Tasks} (id, type, payload, status, attempt, attempt_token, max_attempts, worker, idempotency_key, payload_hash, created_at, due_at, trace_parent, owner, timeout_ms)
            SELECT n.id, n.type, n.payload::jsonb, 'Queued', 1, n.token, n.max_attempts, n.worker, n.key, n.hash, now(), now(), n.trace_parent, n.owner, n.timeout_ms
            FROM unnest(@ids, @types, @payloads, @tokens, @max_attempts, @workers, @keys, @hashes, @trace_parents, @owners, @timeouts_ms)
                AS n(id, type, payload, token, max_attempts, worker, key, hash, trace_parent, owner, timeout_ms)
            ON CONFLICT DO NOTHING
            RETURNING {Columns}
            """);
        insert.Parameters.AddWithValue("ids", tasks.Select(t => t.Id).ToArray());
        insert.Parameters.AddWithValue("types", tasks.Select(t => t.Type).ToArray());
        insert.Parameters.AddWithValue("payloads", tasks.Select(t => t.Payload).ToArray());
        insert.Parameters.AddWithValue("tokens", tasks.Select(t => t.AttemptToken).ToArray());
        insert.Parameters.AddWithValue("max_attempts", tasks.Select(t => t.MaxAttempts).ToArray());
        insert.Parameters.AddWithValue("workers", tasks.Select(t => t.Worker).ToArray());
        insert.Parameters.Add(NullableTexts("keys", tasks.Select(t => t.IdempotencyKey)));
        insert.Parameters.AddWithValue("hashes", tasks.Select(t => t.PayloadHash).ToArray());
        insert.Parameters.Add(NullableTexts("trace_parents", tasks.Select(t => t.TraceParent)));
        insert.Parameters.Add(NullableTexts("owners", tasks.Select(t => t.Owner)));
        insert.Parameters.AddWithValue("timeouts_ms", tasks.Select(t => checked((int)t.Timeout.TotalMilliseconds)).ToArray());
        var created = (await ReadAllAsync(insert, cancellationToken)).ToDictionary(t => t.Id);

        var results = new CreateResult[tasks.Count];
        var conflicted = new List<int>();
        for (var i = 0; i < tasks.Count; i++)
        {
            if (created.TryGetValue(tasks[i].Id, out var stored))
            {
                results[i] = new CreateResult(CreateOutcome.Created, stored);
            }
            else
            {
                conflicted.Add(i);
            }
        }

        if (conflicted.Count > 0)
        {
            // A row under the request's own id is its own, committed by an earlier try of this set; otherwise the key
            // is another request's.
            await using var existing = dataSource.CreateCommand($"SELECT {Columns} FROM {tables.Tasks} WHERE id = ANY(@ids) OR idempotency_key = ANY(@keys)");
            existing.Parameters.AddWithValue("ids", conflicted.Select(i => tasks[i].Id).ToArray());
            existing.Parameters.Add(NullableTexts("keys", conflicted.Select(i => tasks[i].IdempotencyKey).Where(k => k is not null).Distinct()));
            var found = await ReadAllAsync(existing, cancellationToken);
            var byId = found.ToDictionary(t => t.Id);
            var byKey = found.Where(t => t.IdempotencyKey is not null).ToDictionary(t => t.IdempotencyKey!);
            foreach (var i in conflicted)
            {
                var task = tasks[i];
                if (byId.TryGetValue(task.Id, out var own))
                {
                    results[i] = new CreateResult(CreateOutcome.Created, own);
                    continue;
                }

                var stored = (task.IdempotencyKey is { } key ? byKey.GetValueOrDefault(key) : null)
                    ?? throw new InvalidOperationException($"Task {task.Id} conflicted on insert but neither it nor its idempotency key's task can be read.");
                var outcome = stored.PayloadHash == task.PayloadHash ? CreateOutcome.Existing : CreateOutcome.IdempotencyConflict;
                results[i] = new CreateResult(outcome, stored);
            }
        }

        return results;
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

    public async Task<IReadOnlyDictionary<TaskState, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        var counts = Enum.GetValues<TaskState>().ToDictionary(state => state, _ => 0L);
        await using var command = dataSource.CreateCommand($"SELECT status, count(*) FROM {tables.Tasks} GROUP BY status");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[Enum.Parse<TaskState>(reader.GetString(0))] = reader.GetInt64(1);
        }

        return counts;
    }

    public async Task<TransitionResult> ApplyAsync(TaskTransition transition, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var (assignments, extraCondition) = Describe(transition, command.Parameters);
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

        // One statement: the conditional update, and when it misses, the row as it stands, so the caller learns why
        // without a second round trip.
        command.CommandText =
            $"""
            WITH moved AS (
                UPDATE {tables.Tasks} SET {assignments}
                WHERE {conditions}
                RETURNING {Columns}
            )
            SELECT {Columns}, 'Applied' FROM moved
            UNION ALL
            SELECT {Columns}, 'Conflict' FROM {tables.Tasks} WHERE id = @id AND NOT EXISTS (SELECT 1 FROM moved)
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

    public async Task<IReadOnlyList<TaskRecord>> ClaimAsync(string worker, int limit, TimeSpan workerTimeout, CancellationToken cancellationToken)
    {
        // SKIP LOCKED: two claimants never wait for each other and never take the same row. The candidates are a
        // materialized CTE: as an IN (subquery) the planner may run the LIMIT more than once and claim more rows.
        // The claimant's own node row is read FOR SHARE before any task is locked: a rescue locks a silent node's row
        // before its tasks (RescueAsync), so a claim and the rescue of its claimant are serialized, and whichever
        // comes second judges the heartbeat as it is then, not as its snapshot had it.
        await using var command = dataSource.CreateCommand(
            $"""
            WITH claimant AS MATERIALIZED (
                SELECT node_id FROM {tables.Nodes}
                WHERE node_id = @worker AND last_seen > clock_timestamp() - @timeout
                FOR SHARE),
            claimable AS MATERIALIZED (
                SELECT id FROM {tables.Tasks}
                WHERE worker = @worker AND status = 'Queued' AND due_at <= now() AND EXISTS (SELECT 1 FROM claimant)
                ORDER BY id LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            UPDATE {tables.Tasks} t SET status = 'Running', started_at = clock_timestamp()
            FROM claimable
            WHERE t.id = claimable.id
            RETURNING {string.Join(", ", Columns.Split(", ").Select(c => "t." + c))}
            """);
        command.Parameters.AddWithValue("worker", worker);
        command.Parameters.AddWithValue("limit", limit);
        command.Parameters.AddWithValue("timeout", workerTimeout);
        var claimed = await ReadAllAsync(command, cancellationToken);
        return [.. claimed.OrderBy(t => t.Id)];
    }

    public async Task<IReadOnlyList<TransitionOutcome>> ApplyOutcomesAsync(IReadOnlyList<TaskTransition> outcomes, CancellationToken cancellationToken)
    {
        if (outcomes.Count == 0)
        {
            return [];
        }

        var kinds = outcomes.Select(o => o switch
        {
            CompleteAttempt => "complete",
            FailAttempt => "fail",
            RetryAttempt => "retry",
            _ => throw new ArgumentException($"{o.GetType().Name} is not an attempt's outcome.", nameof(outcomes)),
        }).ToArray();

        // One statement for the set; each row keeps the condition ApplyAsync gives it alone (Running, under its token,
        // and for a retry an attempt left), so a superseded attempt's outcome is dropped without holding back the rest.
        await using var command = dataSource.CreateCommand(
            $"""
            UPDATE {tables.Tasks} t SET
                status = CASE v.kind WHEN 'complete' THEN 'Succeeded' WHEN 'fail' THEN 'Failed' ELSE 'Queued' END,
                result = CASE WHEN v.kind = 'complete' THEN v.result::jsonb ELSE t.result END,
                error = CASE WHEN v.kind = 'complete' THEN NULL ELSE v.error END,
                finished_at = CASE WHEN v.kind = 'retry' THEN NULL ELSE now() END,
                attempt = CASE WHEN v.kind = 'retry' THEN t.attempt + 1 ELSE t.attempt END,
                attempt_token = CASE WHEN v.kind = 'retry' THEN v.next_token ELSE t.attempt_token END,
                worker = CASE WHEN v.kind = 'retry' THEN coalesce(v.worker, t.worker) ELSE t.worker END,
                started_at = CASE WHEN v.kind = 'retry' THEN NULL ELSE t.started_at END,
                due_at = CASE WHEN v.kind = 'retry' THEN now() + v.delay_ms * interval '1 millisecond' ELSE t.due_at END,
                history = CASE WHEN v.kind = 'complete' THEN t.history
                    ELSE {HistoryAppended("t.", $"CASE v.kind WHEN 'fail' THEN '{AttemptRecord.Failed}' ELSE '{AttemptRecord.Retried}' END", "v.error")} END
            FROM unnest(@ids, @tokens, @kinds, @results, @errors, @next_tokens, @delays_ms, @workers)
                AS v(id, token, kind, result, error, next_token, delay_ms, worker)
            WHERE t.id = v.id AND t.attempt_token = v.token AND t.status = 'Running'
              AND (v.kind <> 'retry' OR t.attempt < t.max_attempts)
            RETURNING t.id
            """);
        command.Parameters.AddWithValue("ids", outcomes.Select(o => o.TaskId).ToArray());
        command.Parameters.AddWithValue("tokens", outcomes.Select(o => o.ExpectedToken!.Value).ToArray());
        command.Parameters.AddWithValue("kinds", kinds);
        command.Parameters.Add(NullableTexts("results", outcomes.Select(o => (o as CompleteAttempt)?.Result)));
        command.Parameters.Add(NullableTexts("errors", outcomes.Select(o => o switch
        {
            FailAttempt fail => fail.Error,
            RetryAttempt retry => retry.Error,
            _ => null,
        })));
        command.Parameters.AddWithValue("next_tokens", outcomes.Select(o => (o as RetryAttempt)?.NextToken ?? Guid.Empty).ToArray());
        command.Parameters.AddWithValue("delays_ms", outcomes.Select(o => (o as RetryAttempt)?.Delay.TotalMilliseconds ?? 0).ToArray());
        command.Parameters.Add(NullableTexts("workers", outcomes.Select(o => (o as RetryAttempt)?.Worker)));

        var applied = new HashSet<Guid>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetGuid(0));
            }
        }

        return [.. outcomes.Select(o => applied.Contains(o.TaskId) ? TransitionOutcome.Applied : TransitionOutcome.Conflict)];
    }

    public async Task<IReadOnlyList<CurrentAttempt>> GetCurrentAttemptsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT id, status, attempt_token FROM {tables.Tasks} WHERE id = ANY(@ids)");
        command.Parameters.AddWithValue("ids", ids.ToArray());
        var attempts = new List<CurrentAttempt>(ids.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            attempts.Add(new CurrentAttempt(reader.GetGuid(0), Enum.Parse<TaskState>(reader.GetString(1)), reader.GetGuid(2)));
        }

        return attempts;
    }

    public async Task<IReadOnlyList<TaskRecord>> ListRunningByWorkerAsync(string worker, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM {tables.Tasks} WHERE worker = @worker AND status = 'Running' ORDER BY id LIMIT @limit");
        command.Parameters.AddWithValue("worker", worker);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<ActiveCounts> CountActiveByWorkerAsync(string worker, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(tables.ActiveCounts);
        command.Parameters.AddWithValue("worker", worker);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new ActiveCounts(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2));
    }

    public async Task<RescueResult> RescueAsync(RescueRequest request, Leases.Fence fence, CancellationToken cancellationToken)
    {
        // One statement, so that whether an owner is lost, whether a target is live, and the move itself are judged
        // together by the database clock: a worker that heartbeats after this statement's snapshot keeps everything
        // the statement did not take, and a task can never be handed to an identity that is not live at the time.
        // owners is a skip scan over the active-tasks index: one probe per distinct owner, not one row per task.
        await using var command = dataSource.CreateCommand(
            $"""
            WITH RECURSIVE owners AS (
                (SELECT worker FROM {tables.Tasks} WHERE status IN ('Queued', 'Running') AND worker IS NOT NULL ORDER BY worker LIMIT 1)
                UNION ALL
                SELECT (SELECT t.worker FROM {tables.Tasks} t WHERE t.status IN ('Queued', 'Running') AND t.worker > o.worker ORDER BY t.worker LIMIT 1)
                FROM owners o WHERE o.worker IS NOT NULL
            ),
            {tables.FenceCte},
            beating AS (SELECT node_id, role, queued, running, draining, quarantined FROM {tables.Nodes} WHERE last_seen > clock_timestamp() - @timeout),
            silent AS MATERIALIZED (
                SELECT node_id FROM {tables.Nodes}
                WHERE node_id IN (SELECT worker FROM owners) AND last_seen <= clock_timestamp() - @timeout
                ORDER BY node_id
                FOR NO KEY UPDATE),
            lost AS (
                SELECT worker FROM owners
                WHERE worker IS NOT NULL
                  AND (worker IN (SELECT node_id FROM silent) OR NOT EXISTS (SELECT 1 FROM {tables.Nodes} n WHERE n.node_id = owners.worker))),
            leaving AS (SELECT node_id AS worker FROM beating WHERE draining),
            targets AS (
                SELECT node_id, row_number() OVER (ORDER BY queued + running, node_id) - 1 AS slot
                FROM beating WHERE role IN ('Worker', 'Standalone') AND NOT draining AND NOT quarantined
            ),
            picked AS MATERIALIZED (
                SELECT t.id, t.worker AS previous, t.status AS was, t.attempt, t.max_attempts
                FROM {tables.Tasks} t
                WHERE t.status IN ('Queued', 'Running')
                  AND (t.worker IS NULL OR t.worker IN (SELECT worker FROM lost) OR (t.status = 'Queued' AND t.worker IN (SELECT worker FROM leaving)))
                  AND EXISTS (SELECT 1 FROM fence)
                ORDER BY t.id LIMIT @limit
                FOR UPDATE OF t SKIP LOCKED
            ),
            plan AS (
                SELECT p.id, p.previous, p.was, p.was = 'Running' AND p.attempt >= p.max_attempts AS exhausted, g.node_id AS target,
                       'worker ' || coalesce(p.previous, '(none)') || ' was lost during attempt ' || p.attempt AS lost_error
                FROM (SELECT *, row_number() OVER (ORDER BY id) - 1 AS k FROM picked) p
                LEFT JOIN targets g ON g.slot = p.k % greatest((SELECT count(*) FROM targets), 1)
            ),
            moved AS (
                UPDATE {tables.Tasks} t SET
                    status = CASE WHEN p.exhausted THEN 'Failed' ELSE 'Queued' END,
                    worker = CASE WHEN p.exhausted THEN t.worker ELSE p.target END,
                    attempt = CASE WHEN p.was = 'Running' AND NOT p.exhausted THEN t.attempt + 1 ELSE t.attempt END,
                    attempt_token = CASE WHEN p.exhausted THEN t.attempt_token ELSE gen_random_uuid() END,
                    error = CASE WHEN p.was = 'Running' THEN p.lost_error ELSE t.error END,
                    started_at = CASE WHEN p.exhausted THEN t.started_at END,
                    finished_at = CASE WHEN p.exhausted THEN clock_timestamp() END,
                    due_at = CASE WHEN p.was = 'Running' AND NOT p.exhausted
                        THEN now() + least(@base_ms * power(2, least(t.attempt - 1, 30)), @max_ms) * (0.8 + 0.4 * random()) * interval '1 millisecond'
                        ELSE t.due_at END,
                    history = CASE WHEN p.was = 'Running'
                        THEN {HistoryAppended("t.", $"CASE WHEN p.exhausted THEN '{AttemptRecord.Failed}' ELSE '{AttemptRecord.Lost}' END", "p.lost_error")}
                        ELSE t.history END
                FROM plan p
                WHERE t.id = p.id AND (p.exhausted OR p.target IS NOT NULL)
                RETURNING t.id, p.previous, t.worker, t.status, t.attempt
            )
            SELECT EXISTS (SELECT 1 FROM fence), m.id, m.previous, m.worker, m.status, m.attempt
            FROM (SELECT 1) AS one LEFT JOIN moved m ON true
            """);
        AddFence(command.Parameters, fence);
        command.Parameters.AddWithValue("timeout", request.WorkerTimeout);
        command.Parameters.AddWithValue("limit", request.Limit);
        command.Parameters.AddWithValue("base_ms", request.Backoff.Base.TotalMilliseconds);
        command.Parameters.AddWithValue("max_ms", request.Backoff.Max.TotalMilliseconds);
        var rescued = new List<RescuedTask>();
        var held = false;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            held = reader.GetBoolean(0);
            if (!reader.IsDBNull(1))
            {
                rescued.Add(new RescuedTask(
                    reader.GetGuid(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    Enum.Parse<TaskState>(reader.GetString(4)),
                    reader.GetInt32(5)));
            }
        }

        return new RescueResult(!held, rescued);
    }

    public async Task<int> DeleteFinishedBeforeAsync(TimeSpan age, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            DELETE FROM {tables.Tasks} WHERE id IN (
                SELECT id FROM {tables.Tasks}
                WHERE status IN ('Succeeded', 'Failed', 'Cancelled') AND finished_at < now() - @age
                ORDER BY finished_at LIMIT @limit)
            """);
        command.Parameters.AddWithValue("age", age);
        command.Parameters.AddWithValue("limit", limit);
        return await command.ExecuteNonQueryAsync(cancellationToken);
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
                return ($"status = 'Failed', error = @error, finished_at = now(), history = {HistoryAppended("", $"'{AttemptRecord.Failed}'", "@error")}", null);
            case RetryAttempt retry:
                parameters.AddWithValue("error", retry.Error);
                parameters.AddWithValue("next_token", retry.NextToken);
                parameters.AddWithValue("delay_ms", retry.Delay.TotalMilliseconds);
                parameters.Add(new NpgsqlParameter("retry_worker", NpgsqlDbType.Text) { Value = (object?)retry.Worker ?? DBNull.Value });
                return (
                    $"worker = coalesce(@retry_worker, worker), status = 'Queued', attempt = attempt + 1, attempt_token = @next_token, error = @error, started_at = NULL, due_at = now() + @delay_ms * interval '1 millisecond', history = {HistoryAppended("", $"'{AttemptRecord.Retried}'", "@error")}",
                    "attempt < max_attempts");
            case CancelTask:
                return ("status = 'Cancelled', finished_at = now()", null);
            case ReleaseAttempt release:
                parameters.AddWithValue("next_token", release.NextToken);
                return ("status = 'Queued', attempt_token = @next_token, started_at = NULL, due_at = now()", null);
            default:
                throw new UnreachableException($"Unknown transition {transition.GetType().Name}.");
        }
    }

    /// <summary>The task's history with the attempt that is ending appended (read from the row before the update).</summary>
    private static string HistoryAppended(string row, string outcome, string error) =>
        $"{row}history || jsonb_build_array(jsonb_build_object('attempt', {row}attempt, 'worker', {row}worker, 'outcome', {outcome}, 'error', {error}, 'endedAt', now()))";

    internal static void AddFence(NpgsqlParameterCollection parameters, Leases.Fence fence)
    {
        parameters.AddWithValue("lease_name", fence.LeaseName);
        parameters.AddWithValue("lease_holder", fence.Holder);
        parameters.AddWithValue("lease_epoch", fence.Epoch);
    }

    private static NpgsqlParameter NullableTexts(string name, IEnumerable<string?> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.Select(v => (object?)v ?? DBNull.Value).ToArray() };

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
        Timeout = TimeSpan.FromMilliseconds(reader.GetInt32(15)),
        TraceParent = reader.IsDBNull(16) ? null : reader.GetString(16),
        Owner = reader.IsDBNull(17) ? null : reader.GetString(17),
        DueAt = reader.IsDBNull(18) ? null : reader.GetFieldValue<DateTimeOffset>(18),
        History = new AttemptHistory(ReadHistory(reader.GetString(19))),
    };

    private static List<AttemptRecord> ReadHistory(string json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(entry => new AttemptRecord(
            entry.GetProperty("attempt").GetInt32(),
            entry.GetProperty("worker").ValueKind == JsonValueKind.String ? entry.GetProperty("worker").GetString() : null,
            entry.GetProperty("outcome").GetString()!,
            entry.GetProperty("error").ValueKind == JsonValueKind.String ? entry.GetProperty("error").GetString() : null,
            entry.GetProperty("endedAt").GetDateTimeOffset()))];
    }

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
