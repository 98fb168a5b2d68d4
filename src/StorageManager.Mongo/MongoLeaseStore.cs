using MongoDB.Bson;
using MongoDB.Driver;
using TaskServer.StorageManager.Leases;

namespace TaskServer.StorageManager.Mongo;

internal sealed class MongoLeaseStore(MongoCollections collections) : ILeaseStore
{
    private static FindOneAndUpdateOptions<BsonDocument> UpsertReturningAfter => new()
    {
        IsUpsert = true,
        ReturnDocument = ReturnDocument.After,
    };

    private static FindOneAndUpdateOptions<BsonDocument> ReturningAfter => new() { ReturnDocument = ReturnDocument.After };

    private IMongoCollection<BsonDocument> Leases => collections.Leases;

    public async Task<LeaseResult> TryAcquireAsync(string name, string holder, string holderUrl, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            var acquired = await Leases.FindOneAndUpdateAsync(
                MongoLeaseCommands.AcquireFilter(name),
                MongoCommands.Update(MongoLeaseCommands.AcquireUpdate(holder, holderUrl, ttl)),
                UpsertReturningAfter,
                cancellationToken);
            return new LeaseResult(true, MongoLeaseCommands.ToLease(acquired));
        }
        catch (MongoException e) when (MongoCommands.IsDuplicateKey(e))
        {
            // The filter missed because the lease is held, so the upsert tried to insert a second document with
            // that name: the unique _id refuses it, and that refusal is the failed acquisition.
            return LeaseResult.Failed;
        }
    }

    public async Task<LeaseResult> TryRenewAsync(Fence fence, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var renewed = await Leases.FindOneAndUpdateAsync(
            MongoLeaseCommands.HeldFilter(fence),
            MongoCommands.Update(MongoLeaseCommands.RenewUpdate(ttl)),
            ReturningAfter,
            cancellationToken);
        return renewed is null ? LeaseResult.Failed : new LeaseResult(true, MongoLeaseCommands.ToLease(renewed));
    }

    public async Task<bool> ReleaseAsync(Fence fence, CancellationToken cancellationToken)
    {
        var released = await Leases.UpdateOneAsync(
            MongoLeaseCommands.HeldFilter(fence),
            MongoCommands.Update(MongoLeaseCommands.ReleaseUpdate()),
            cancellationToken: cancellationToken);
        return released.MatchedCount == 1;
    }

    public async Task<Lease?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        using var cursor = await Leases.AggregateAsync(MongoCommands.Pipeline(MongoLeaseCommands.Read(name)), cancellationToken: cancellationToken);
        var document = await cursor.FirstOrDefaultAsync(cancellationToken);
        return document is null ? null : MongoLeaseCommands.ToLease(document);
    }
}
