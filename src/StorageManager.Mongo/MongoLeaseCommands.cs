using MongoDB.Bson;
using TaskServer.StorageManager.Leases;
using static TaskServer.StorageManager.Mongo.MongoCommands;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// The filters and updates of the <c>leases</c> collection (<c>_id</c> = lease name). Expiry is always judged
/// against <c>$$NOW</c>, the database server's clock, never a node's.
/// </summary>
internal static class MongoLeaseCommands
{
    private const string Holder = "holder";
    private const string HolderUrl = "holderUrl";
    private const string Epoch = "epoch";
    private const string ExpiresAt = "expiresAt";
    private const string ServerNow = "serverNow";
    private const string FencedWriteAt = "fencedWriteAt";

    /// <summary>Nobody ever held the lease, or the holder's tenure has run out.</summary>
    internal static BsonDocument AcquireFilter(string name) => new()
    {
        { "_id", name },
        {
            "$or", new BsonArray
            {
                new BsonDocument(ExpiresAt, new BsonDocument("$exists", false)),
                new BsonDocument("$expr", new BsonDocument("$lte", new BsonArray { "$" + ExpiresAt, Now })),
            }
        },
    };

    /// <summary>
    /// Starts a new tenure with the next epoch (1 for a lease upserted now). <c>serverNow</c> is the clock of
    /// this very write, returned with the document.
    /// </summary>
    internal static BsonDocument[] AcquireUpdate(string holder, string holderUrl, TimeSpan ttl) => Set(new BsonDocument
    {
        { Holder, Literal(holder) },
        { HolderUrl, Literal(holderUrl) },
        {
            Epoch, new BsonDocument("$add", new BsonArray
            {
                new BsonDocument("$ifNull", new BsonArray { "$" + Epoch, new BsonInt64(0) }),
                new BsonInt64(1),
            })
        },
        { ExpiresAt, NowPlus(ttl) },
        { ServerNow, Now },
    });

    /// <summary>The fence holds: this holder, this epoch, not yet expired.</summary>
    internal static BsonDocument HeldFilter(Fence fence) => new()
    {
        { "_id", fence.LeaseName },
        { Holder, fence.Holder },
        { Epoch, new BsonInt64(fence.Epoch) },
        { "$expr", new BsonDocument("$gt", new BsonArray { "$" + ExpiresAt, Now }) },
    };

    internal static BsonDocument[] RenewUpdate(TimeSpan ttl) => Set(new BsonDocument
    {
        { ExpiresAt, NowPlus(ttl) },
        { ServerNow, Now },
    });

    /// <summary>Expires the tenure now, so the next acquisition need not wait out the TTL.</summary>
    internal static BsonDocument[] ReleaseUpdate() => Set(new BsonDocument
    {
        { ExpiresAt, Now },
        { ServerNow, Now },
    });

    /// <summary>
    /// Written in the transaction of every fenced write: an acquisition racing that transaction writes the same
    /// document, so one of the two meets a write conflict and the fenced write never lands under a newer epoch.
    /// </summary>
    internal static BsonDocument[] FenceTouch() => Set(new BsonDocument(FencedWriteAt, Now));

    /// <summary>The stored <c>serverNow</c> is the time of the last write; a read needs the clock at the read.</summary>
    internal static BsonDocument[] Read(string name) =>
    [
        new BsonDocument("$match", new BsonDocument("_id", name)),
        new BsonDocument("$addFields", new BsonDocument(ServerNow, Now)),
    ];

    internal static Lease ToLease(BsonDocument document) => new(
        document["_id"].AsString,
        document[Holder].AsString,
        document[HolderUrl].AsString,
        document[Epoch].ToInt64(),
        MongoTaskDocuments.ToTime(document[ExpiresAt]),
        MongoTaskDocuments.ToTime(document[ServerNow]));
}
