using Microsoft.Extensions.Options;

namespace TaskServer.StorageManager.PostgreSql;

/// <summary>Schema-qualified table names, spliced into SQL text (the validator only admits plain identifiers).</summary>
internal sealed class PostgreSqlTables(IOptions<StorageOptions> options)
{
    public string Schema { get; } = options.Value.Schema;

    public string Tasks => $"{Schema}.tasks";

    public string Nodes => $"{Schema}.nodes";

    public string Leases => $"{Schema}.leases";

    public string Migrations => $"{Schema}.schema_migrations";

    public string Failovers => $"{Schema}.failovers";

    /// <summary>
    /// A worker's load as the store counts it (columns queued, running, due) for the worker named by <c>@worker</c>:
    /// what its heartbeat reports and the sweeper checks before it evicts a dead one.
    /// </summary>
    public string ActiveCounts =>
        $"""
        SELECT count(*) FILTER (WHERE status = 'Queued')::int AS queued, count(*) FILTER (WHERE status = 'Running')::int AS running,
               count(*) FILTER (WHERE status = 'Queued' AND due_at <= now())::int AS due
        FROM {Tasks} WHERE worker = @worker AND status IN ('Queued', 'Running')
        """;

    /// <summary>
    /// The condition a fenced write joins: the caller's holder still holds the caller's epoch, unexpired.
    /// FOR KEY SHARE makes a concurrent acquisition of the lease (which locks the row FOR UPDATE before its upsert)
    /// wait until the fenced write commits, so a new epoch can never be granted in the middle of a write made under the
    /// old one; and it lets the holder's own renewal (an UPDATE of expires_at alone, a no-key update) through. FOR SHARE held the renewal too: a rescue round that ran longer than the lease's time to live under
    /// load made its own primary lose the lease, and the next primary's round did the same.
    /// </summary>
    public string FenceCte =>
        $"fence AS (SELECT 1 FROM {Leases} WHERE name = @lease_name AND holder = @lease_holder AND epoch = @lease_epoch AND expires_at > clock_timestamp() FOR KEY SHARE)";
}
