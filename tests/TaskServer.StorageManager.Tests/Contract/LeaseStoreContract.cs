using TaskServer.StorageManager.Leases;

namespace TaskServer.StorageManager.Tests.Contract;

/// <summary>What every <see cref="ILeaseStore"/> provider must do.</summary>
public abstract class LeaseStoreContract(StorageFixture fixture)
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(1);

    private ILeaseStore Leases => fixture.Leases;

    [Fact]
    public async Task The_first_acquisition_of_a_lease_grants_epoch_one()
    {
        var name = Unique();

        var result = await Leases.TryAcquireAsync(name, "gateway-a", "http://a", Long, Ct);

        Assert.True(result.Succeeded);
        Assert.Equal(new Fence(name, "gateway-a", 1), result.Lease!.Fence);
        Assert.Equal("http://a", result.Lease.HolderUrl);
        Assert.False(result.Lease.IsExpired);
        Assert.InRange(result.Lease.Remaining, TimeSpan.FromSeconds(50), Long);
    }

    [Fact]
    public async Task A_held_lease_cannot_be_acquired_by_another_holder()
    {
        var name = Unique();
        await Leases.TryAcquireAsync(name, "gateway-a", "http://a", Long, Ct);

        var result = await Leases.TryAcquireAsync(name, "gateway-b", "http://b", Long, Ct);

        Assert.False(result.Succeeded);
        Assert.Equal("gateway-a", (await Leases.ReadAsync(name, Ct))!.Holder);
    }

    [Fact]
    public async Task An_expired_lease_goes_to_the_next_contender_with_the_next_epoch()
    {
        var name = Unique();
        await Leases.TryAcquireAsync(name, "gateway-a", "http://a", TimeSpan.FromMilliseconds(200), Ct);

        var taken = await EventuallyAsync(() => Leases.TryAcquireAsync(name, "gateway-b", "http://b", Long, Ct));

        Assert.Equal(new Fence(name, "gateway-b", 2), taken.Lease!.Fence);
    }

    [Fact]
    public async Task Renewal_extends_the_lease_of_the_current_holder()
    {
        var name = Unique();
        var first = (await Leases.TryAcquireAsync(name, "gateway-a", "http://a", TimeSpan.FromSeconds(5), Ct)).Lease!;

        var renewed = await Leases.TryRenewAsync(first.Fence, Long, Ct);

        Assert.True(renewed.Succeeded);
        Assert.Equal(first.Fence, renewed.Lease!.Fence);
        Assert.True(renewed.Lease.ExpiresAt > first.ExpiresAt);
    }

    [Fact]
    public async Task Renew_fails_after_a_newer_epoch_was_granted()
    {
        var name = Unique();
        var old = (await Leases.TryAcquireAsync(name, "gateway-a", "http://a", TimeSpan.FromMilliseconds(200), Ct)).Lease!;
        await EventuallyAsync(() => Leases.TryAcquireAsync(name, "gateway-b", "http://b", Long, Ct));

        var renewed = await Leases.TryRenewAsync(old.Fence, Long, Ct);

        Assert.False(renewed.Succeeded);
        Assert.Equal(new Fence(name, "gateway-b", 2), (await Leases.ReadAsync(name, Ct))!.Fence);
    }

    [Fact]
    public async Task Renew_fails_once_the_lease_has_expired_even_if_nobody_took_it()
    {
        var name = Unique();
        var lease = (await Leases.TryAcquireAsync(name, "gateway-a", "http://a", TimeSpan.FromMilliseconds(100), Ct)).Lease!;
        await EventuallyAsync(async () => (await Leases.ReadAsync(name, Ct))!.IsExpired);

        Assert.False((await Leases.TryRenewAsync(lease.Fence, Long, Ct)).Succeeded);
    }

    [Fact]
    public async Task Release_lets_a_successor_acquire_at_once_with_the_next_epoch()
    {
        var name = Unique();
        var lease = (await Leases.TryAcquireAsync(name, "gateway-a", "http://a", Long, Ct)).Lease!;

        Assert.True(await Leases.ReleaseAsync(lease.Fence, Ct));
        var successor = await Leases.TryAcquireAsync(name, "gateway-b", "http://b", Long, Ct);

        Assert.True(successor.Succeeded);
        Assert.Equal(2, successor.Lease!.Epoch);
    }

    [Fact]
    public async Task Release_by_a_stale_epoch_changes_nothing()
    {
        var name = Unique();
        var first = (await Leases.TryAcquireAsync(name, "gateway-a", "http://a", Long, Ct)).Lease!;
        await Leases.ReleaseAsync(first.Fence, Ct);
        var second = (await Leases.TryAcquireAsync(name, "gateway-a", "http://a", Long, Ct)).Lease!;

        Assert.False(await Leases.ReleaseAsync(first.Fence, Ct));
        var current = (await Leases.ReadAsync(name, Ct))!;
        Assert.Equal(second.Fence, current.Fence);
        Assert.False(current.IsExpired);
    }

    [Fact]
    public async Task Of_twenty_parallel_contenders_exactly_one_holds_each_epoch()
    {
        var name = Unique();
        var holders = new Dictionary<long, string>();
        for (var round = 1; round <= 5; round++)
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
                Task.Run(() => Leases.TryAcquireAsync(name, $"gateway-{i}", $"http://{i}", Long, Ct))));

            var winner = Assert.Single(results, r => r.Succeeded).Lease!;
            Assert.Equal(round, winner.Epoch);
            holders.Add(winner.Epoch, winner.Holder);
            Assert.True(await Leases.ReleaseAsync(winner.Fence, Ct));
        }

        Assert.Equal([1L, 2, 3, 4, 5], holders.Keys.Order());
    }

    [Fact]
    public async Task Reading_an_unknown_lease_returns_null()
    {
        Assert.Null(await Leases.ReadAsync(Unique(), Ct));
    }

    private static string Unique() => $"lease-{Guid.NewGuid():N}";

    private static async Task<LeaseResult> EventuallyAsync(Func<Task<LeaseResult>> attempt)
    {
        LeaseResult result = default;
        await EventuallyAsync(async () => (result = await attempt()).Succeeded);
        return result;
    }

    /// <summary>Waits on a condition with a deadline: lease expiry is judged by the database clock, which the test cannot advance.</summary>
    internal static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 10 s.");
            await Task.Delay(25, Ct);
        }
    }
}
