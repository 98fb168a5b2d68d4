using Microsoft.Extensions.Options;
using Npgsql;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.PostgreSql;

namespace TaskServer.StorageManager.Tests.PostgreSql;

/// <summary>
/// PostgreSQL's early end of a dead holder's lease: the holder's database session is the evidence.
/// (MongoDB has no such evidence; its leases end at expiry, which the contract suite covers.)
/// </summary>
public sealed class PostgreSqlLeaseSessionTests(PostgreSqlFixture fixture) : IClassFixture<PostgreSqlFixture>
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_lease_whose_holder_session_ended_goes_to_a_contender_before_it_expires()
    {
        var name = $"lease-{Guid.NewGuid():N}";
        var held = (await fixture.Leases.TryAcquireAsync(name, "gateway-a", "http://a", Long, Ct)).Lease!;

        await TerminateHolderSessionAsync(name);
        var taken = await fixture.Leases.TryAcquireAsync(name, "gateway-b", "http://b", Long, Ct);

        Assert.True(taken.Succeeded);
        Assert.Equal(new Fence(name, "gateway-b", held.Epoch + 1), taken.Lease!.Fence);
        Assert.False((await fixture.Leases.TryRenewAsync(held.Fence, Long, Ct)).Succeeded);
    }

    [Fact]
    public async Task A_lease_whose_holder_session_lives_is_kept_until_it_expires()
    {
        var name = $"lease-{Guid.NewGuid():N}";
        var held = (await fixture.Leases.TryAcquireAsync(name, "gateway-a", "http://a", Long, Ct)).Lease!;

        var taken = await fixture.Leases.TryAcquireAsync(name, "gateway-b", "http://b", Long, Ct);

        Assert.False(taken.Succeeded);
        Assert.True((await fixture.Leases.TryRenewAsync(held.Fence, Long, Ct)).Succeeded);
    }

    [Fact]
    public async Task A_holder_whose_session_was_cut_cannot_renew()
    {
        var name = $"lease-{Guid.NewGuid():N}";
        var held = (await fixture.Leases.TryAcquireAsync(name, "gateway-a", "http://a", Long, Ct)).Lease!;

        await TerminateHolderSessionAsync(name);

        Assert.False((await fixture.Leases.TryRenewAsync(held.Fence, Long, Ct)).Succeeded);
    }

    [Fact]
    public async Task A_fenced_write_in_flight_lets_its_holder_renew_and_holds_a_takeover_until_it_commits()
    {
        var name = $"lease-{Guid.NewGuid():N}";
        var held = (await fixture.Leases.TryAcquireAsync(name, "gateway-a", "http://a", TimeSpan.FromSeconds(10), Ct)).Lease!;
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var write = await connection.BeginTransactionAsync(Ct);
        await using (var fenced = new NpgsqlCommand($"WITH {Tables.FenceCte} SELECT count(*) FROM fence", connection, write))
        {
            PostgreSqlTaskStore.AddFence(fenced.Parameters, held.Fence);
            Assert.Equal(1L, await fenced.ExecuteScalarAsync(Ct));
        }

        // A renewal that waited for the write would not come back before the deadline.
        using var renewDeadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        renewDeadline.CancelAfter(TimeSpan.FromSeconds(5));
        var renewed = await fixture.Leases.TryRenewAsync(held.Fence, TimeSpan.FromMilliseconds(300), renewDeadline.Token);
        await Task.Delay(TimeSpan.FromMilliseconds(400), Ct);
        var takeover = fixture.Leases.TryAcquireAsync(name, "gateway-b", "http://b", Long, Ct);
        await UntilWaitingOnALockAsync();
        var takenBeforeCommit = takeover.IsCompleted;
        await write.CommitAsync(Ct);
        var taken = await takeover;

        Assert.True(renewed.Succeeded);
        Assert.False(takenBeforeCommit);
        Assert.True(taken.Succeeded);
        Assert.Equal(held.Epoch + 1, taken.Lease!.Epoch);
    }

    private static PostgreSqlTables Tables => new(Options.Create(new StorageOptions()));

    private Task UntilWaitingOnALockAsync() => PostgresLockWaits.UntilSomeoneWaitsAsync(fixture.ConnectionString, Ct);

    /// <summary>What the death of the holder's process does to its session, done from outside.</summary>
    private async Task TerminateHolderSessionAsync(string lease)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            "SELECT pg_terminate_backend(holder_pid) FROM taskserver.leases WHERE name = @name; SELECT pg_sleep(0.1);", connection);
        command.Parameters.AddWithValue("name", lease);
        await command.ExecuteNonQueryAsync(Ct);
    }
}
