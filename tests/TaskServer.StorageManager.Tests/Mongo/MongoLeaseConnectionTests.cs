using Microsoft.Extensions.Logging.Abstractions;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Mongo;
using TaskServer.StorageManager.Tests.Contract;

namespace TaskServer.StorageManager.Tests.Mongo;

/// <summary>
/// MongoDB's early end of a dead holder's lease: the holder's lease-client connections on the primary are the
/// evidence. The holder here is a second process's worth of client (its own pool, its own appName); disposing it
/// closes its sockets as a killed process's kernel would.
/// </summary>
public sealed class MongoLeaseConnectionTests(MongoFixture fixture) : IClassFixture<MongoFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_lease_whose_holder_has_no_connection_left_goes_to_a_contender_before_it_expires()
    {
        var contender = fixture.Leases;
        var name = $"lease-{Guid.NewGuid():N}";
        Lease held;
        using (var holderClient = HolderClient())
        {
            var holder = new MongoLeaseStore(holderClient, NullLogger<MongoLeaseStore>.Instance);
            held = (await holder.TryAcquireAsync(name, "gateway-a", "http://a", Long, TestContext.Current.CancellationToken)).Lease!;
        }

        LeaseResult taken = default;
        await LeaseStoreContract.EventuallyAsync(async () =>
            (taken = await contender.TryAcquireAsync(name, "gateway-b", "http://b", Long, TestContext.Current.CancellationToken)).Succeeded);

        Assert.Equal(new Fence(name, "gateway-b", held.Epoch + 1), taken.Lease!.Fence);
        Assert.False((await contender.TryRenewAsync(held.Fence, Long, TestContext.Current.CancellationToken)).Succeeded);
    }

    [Fact]
    public async Task A_lease_whose_holder_is_connected_is_kept_until_it_expires()
    {
        var contender = fixture.Leases;
        var name = $"lease-{Guid.NewGuid():N}";
        using var holderClient = HolderClient();
        var holder = new MongoLeaseStore(holderClient, NullLogger<MongoLeaseStore>.Instance);
        var held = (await holder.TryAcquireAsync(name, "gateway-a", "http://a", Long, TestContext.Current.CancellationToken)).Lease!;

        var taken = await contender.TryAcquireAsync(name, "gateway-b", "http://b", Long, TestContext.Current.CancellationToken);

        Assert.False(taken.Succeeded);
        Assert.True((await holder.TryRenewAsync(held.Fence, Long, TestContext.Current.CancellationToken)).Succeeded);
    }

    private MongoLeaseClient HolderClient()
    {
        _ = fixture.Leases;
        return new MongoLeaseClient(
            MongoStorageServiceCollectionExtensions.CreateClientSettings(fixture.ConnectionString, loggerFactory: null), fixture.Database, MongoBounds.Default);
    }
}
