using Npgsql;

namespace TaskServer.StorageManager.PostgreSql;

/// <summary>
/// Creates and migrates the schema. Migrations are applied in order, each once, recorded in
/// <c>schema_migrations</c>; an advisory lock makes nodes that start together take turns.
/// </summary>
internal sealed class PostgreSqlSchema(NpgsqlDataSource dataSource, PostgreSqlTables tables) : IStorageInitializer
{
    private const long MigrationLockKey = 0x7461736b73727672; // "tasksrvr"

    private IReadOnlyList<string> Migrations =>
    [
        $"""
        CREATE TABLE {tables.Tasks} (
            id              uuid        PRIMARY KEY,
            type            text        NOT NULL,
            payload         jsonb       NOT NULL,
            status          text        NOT NULL CHECK (status IN ('Queued', 'Running', 'Succeeded', 'Failed', 'Cancelled')),
            attempt         integer     NOT NULL CHECK (attempt >= 1),
            attempt_token   uuid        NOT NULL,
            max_attempts    integer     NOT NULL CHECK (max_attempts >= 1),
            worker          text,
            idempotency_key text        UNIQUE,
            payload_hash    text,
            created_at      timestamptz NOT NULL,
            started_at      timestamptz,
            finished_at     timestamptz,
            result          jsonb,
            error           text,
            job_id          text
        );
        CREATE INDEX tasks_active_by_worker ON {tables.Tasks} (worker) WHERE status IN ('Queued', 'Running');
        CREATE INDEX tasks_by_status ON {tables.Tasks} (status, id DESC);
        CREATE INDEX tasks_by_type ON {tables.Tasks} (type, id DESC);
        CREATE INDEX tasks_queued_without_job ON {tables.Tasks} (created_at) WHERE status = 'Queued' AND job_id IS NULL;
        CREATE TABLE {tables.Nodes} (
            node_id   text        PRIMARY KEY,
            role      text        NOT NULL,
            url       text        NOT NULL,
            queued    integer     NOT NULL,
            running   integer     NOT NULL,
            capacity  integer     NOT NULL,
            last_seen timestamptz NOT NULL
        );
        CREATE TABLE {tables.Leases} (
            name       text        PRIMARY KEY,
            holder     text        NOT NULL,
            holder_url text        NOT NULL,
            epoch      bigint      NOT NULL,
            expires_at timestamptz NOT NULL
        );
        """,
        $"""
        ALTER TABLE {tables.Leases} ADD COLUMN holder_pid integer, ADD COLUMN holder_session_start timestamptz;
        CREATE TABLE {tables.Failovers} (
            id              uuid        PRIMARY KEY,
            lease_name      text        NOT NULL,
            old_holder      text,
            new_holder      text        NOT NULL,
            epoch           bigint      NOT NULL,
            last_contact_at timestamptz,
            suspected_at    timestamptz,
            promoted_at     timestamptz NOT NULL
        );
        CREATE INDEX failovers_by_lease ON {tables.Failovers} (lease_name, promoted_at DESC);
        """,
        $"""
        CREATE INDEX tasks_active_by_id ON {tables.Tasks} (id) WHERE status IN ('Queued', 'Running');
        """,
        $"""
        ALTER TABLE {tables.Tasks} ADD COLUMN trace_parent text;
        """,
        // The task table becomes the queue: workers claim their due Queued tasks (oldest first) in sets, so tasks
        // no longer wait for a job of their own and the orphan index goes. Every claim and outcome changes the
        // status, so no update is HOT and each index costs an insertion per write: one index on a worker's active
        // tasks serves the claim, its load count and the sweeper, and the walk over Running tasks reads
        // tasks_by_status. Owner scopes reads to the submitting client.
        $"""
        ALTER TABLE {tables.Tasks}
            ADD COLUMN owner text,
            ADD COLUMN due_at timestamptz,
            ADD COLUMN history jsonb NOT NULL DEFAULT '[]';
        UPDATE {tables.Tasks} SET due_at = created_at WHERE status = 'Queued';
        DROP INDEX {tables.Schema}.tasks_queued_without_job;
        DROP INDEX {tables.Schema}.tasks_active_by_worker;
        DROP INDEX {tables.Schema}.tasks_active_by_id;
        CREATE INDEX tasks_active_by_worker ON {tables.Tasks} (worker, status, id) WHERE status IN ('Queued', 'Running');
        CREATE INDEX tasks_by_owner ON {tables.Tasks} (owner, id DESC);
        """,
        // A worker whose results fail verification says so in its heartbeat; gateways route around it.
        $"""
        ALTER TABLE {tables.Nodes} ADD COLUMN quarantined boolean NOT NULL DEFAULT false;
        """,
        // Retention: the primary removes finished tasks oldest first, a batch at a time, past their age.
        $"""
        CREATE INDEX tasks_finished ON {tables.Tasks} (finished_at) WHERE status IN ('Succeeded', 'Failed', 'Cancelled');
        """,
        // Execution leaves Hangfire: no task names a job. Each attempt has a deadline, and a worker that is shutting
        // down says so in its heartbeat, so it leaves rotation and the primary hands its queued tasks on.
        $"""
        ALTER TABLE {tables.Tasks} DROP COLUMN job_id, ADD COLUMN timeout_ms integer NOT NULL DEFAULT 300000 CHECK (timeout_ms > 0);
        ALTER TABLE {tables.Nodes} ADD COLUMN draining boolean NOT NULL DEFAULT false;
        """,
    ];

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({MigrationLockKey})", cancellationToken);
        await ExecuteAsync(
            connection,
            $"CREATE SCHEMA IF NOT EXISTS {tables.Schema}; CREATE TABLE IF NOT EXISTS {tables.Migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            cancellationToken);

        await using var versionCommand = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {tables.Migrations}", connection);
        var applied = (int)(await versionCommand.ExecuteScalarAsync(cancellationToken))!;

        var migrations = Migrations;
        for (var version = applied + 1; version <= migrations.Count; version++)
        {
            await ExecuteAsync(connection, migrations[version - 1], cancellationToken);
            await ExecuteAsync(connection, $"INSERT INTO {tables.Migrations} (version) VALUES ({version})", cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
