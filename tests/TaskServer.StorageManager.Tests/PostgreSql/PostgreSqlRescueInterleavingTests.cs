using Npgsql;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Tests.PostgreSql;

/// <summary>
/// The rescue against a worker that comes back, in the order chaos seed 61283 found it: the rescue's snapshot has
/// the worker silent, the statement is held up (here on the lease row, as a renewal would hold it), the worker beats
/// and claims meanwhile, and only then does the rescue reach the task. The rescue must judge the heartbeat as it is
/// when it gets there, or it ends an attempt that has just begun, and the attempt's side effects land after its end.
/// </summary>
public sealed class PostgreSqlRescueInterleavingTests(PostgreSqlFixture fixture) : IClassFixture<PostgreSqlFixture>
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    // Long enough that, on a loaded machine, the worker that beat again is still live when the rescue gets to it.
    private static readonly TimeSpan SilentAfter = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_rescue_held_up_after_judging_a_worker_silent_leaves_the_attempt_it_claimed_on_coming_back()
    {
        var lease = $"lease-{Guid.NewGuid():N}";
        var fence = (await fixture.Leases.TryAcquireAsync(lease, "gateway-a", "http://a", TimeSpan.FromMinutes(5), Ct)).Lease!.Fence;
        var worker = $"paused-{Guid.NewGuid():N}";
        await BeatAsync(worker);
        var task = await CreateAsync(worker);
        await Task.Delay(SilentAfter + TimeSpan.FromMilliseconds(100), Ct);

        await using var renewal = await HoldLeaseRowAsync(lease);
        var rescue = fixture.Tasks.RescueAsync(new RescueRequest(SilentAfter, 1_000, new RetryBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))), fence, Ct);
        await UntilWaitingOnALockAsync();
        await BeatAsync(worker);
        var claimed = await fixture.Tasks.ClaimAsync(worker, 10, TimeSpan.FromMinutes(1), Ct);
        await renewal.CommitAsync(Ct);
        var rescued = await rescue;

        Assert.Equal([task.Id], claimed.Select(t => t.Id));
        Assert.DoesNotContain(rescued.Tasks, t => t.Id == task.Id);
        var stored = (await fixture.Tasks.GetAsync(task.Id, Ct))!;
        Assert.Equal((TaskState.Running, worker, task.AttemptToken), (stored.Status, stored.Worker, stored.AttemptToken));
    }

    [Fact]
    public async Task A_claim_that_meets_a_rescue_of_its_silent_worker_waits_for_it_and_takes_nothing()
    {
        var lease = $"lease-{Guid.NewGuid():N}";
        var fence = (await fixture.Leases.TryAcquireAsync(lease, "gateway-a", "http://a", TimeSpan.FromMinutes(5), Ct)).Lease!.Fence;
        var worker = $"silent-{Guid.NewGuid():N}";
        await BeatAsync(worker);
        var task = await CreateAsync(worker);
        await Task.Delay(SilentAfter + TimeSpan.FromMilliseconds(100), Ct);

        // A claim with a generous timeout would find the worker live; it must still not start an attempt that a
        // rescue committing in the meantime ends.
        await using var rescueInFlight = await LockNodeRowAsync(worker);
        var claim = fixture.Tasks.ClaimAsync(worker, 10, TimeSpan.FromMinutes(1), Ct);
        await UntilWaitingOnALockAsync();
        await rescueInFlight.RequeueAsync(task.Id);
        await rescueInFlight.CommitAsync(Ct);

        Assert.Empty(await claim);
        Assert.Equal(TaskState.Queued, (await fixture.Tasks.GetAsync(task.Id, Ct))!.Status);
    }

    private Task BeatAsync(string worker) =>
        fixture.Nodes.HeartbeatAsync(new NodeHeartbeat(worker, NodeRole.Worker, $"http://{worker}", new NodeLoad(0, 0, 4)), Ct);

    private async Task<TaskRecord> CreateAsync(string worker)
    {
        var created = await fixture.Tasks.CreateAsync(
            new NewTask
            {
                Id = Guid.CreateVersion7(),
                Type = "callback",
                Payload = "{}",
                MaxAttempts = 1,
                Worker = worker,
                AttemptToken = Guid.NewGuid(),
                Timeout = TimeSpan.FromMinutes(1),
            },
            Ct);
        return created.Task;
    }

    /// <summary>An open transaction holding the lease row as a renewal in flight holds it.</summary>
    private async Task<OpenTransaction> HoldLeaseRowAsync(string lease) =>
        await OpenTransaction.LockAsync(fixture.ConnectionString, "SELECT 1 FROM taskserver.leases WHERE name = @key FOR UPDATE", lease);

    /// <summary>An open transaction holding the worker's node row as the rescue holds a silent worker's.</summary>
    private async Task<OpenTransaction> LockNodeRowAsync(string worker) =>
        await OpenTransaction.LockAsync(fixture.ConnectionString, "SELECT 1 FROM taskserver.nodes WHERE node_id = @key FOR NO KEY UPDATE", worker);

    private Task UntilWaitingOnALockAsync() => PostgresLockWaits.UntilSomeoneWaitsAsync(fixture.ConnectionString, Ct);

    private sealed class OpenTransaction : IAsyncDisposable
    {
        private readonly NpgsqlConnection connection;
        private readonly NpgsqlTransaction transaction;

        private OpenTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction)
        {
            this.connection = connection;
            this.transaction = transaction;
        }

        public static async Task<OpenTransaction> LockAsync(string connectionString, string sql, string key)
        {
            var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(Ct);
            var transaction = await connection.BeginTransactionAsync(Ct);
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            command.Parameters.AddWithValue("key", key);
            Assert.NotNull(await command.ExecuteScalarAsync(Ct));
            return new OpenTransaction(connection, transaction);
        }

        /// <summary>What the rescue writes for a silent worker's queued task: it moves, under a new token.</summary>
        public async Task RequeueAsync(Guid task)
        {
            await using var command = new NpgsqlCommand(
                "UPDATE taskserver.tasks SET worker = 'elsewhere', attempt_token = gen_random_uuid() WHERE id = @id", connection, transaction);
            command.Parameters.AddWithValue("id", task);
            Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
        }

        public Task CommitAsync(CancellationToken cancellationToken) => transaction.CommitAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
