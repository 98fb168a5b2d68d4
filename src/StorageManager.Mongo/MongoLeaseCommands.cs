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
    internal const string Holder = "holder";
    internal const string HolderUrl = "holderUrl";
    internal const string Epoch = "epoch";
    internal const string ExpiresAt = "expiresAt";
    internal const string ServerNow = "serverNow";
    /// <summary>A value drawn afresh by every acquisition call: the caller won exactly when the document carries its own.</summary>
    internal const string Tenure = "tenure";
    /// <summary>The <c>appName</c> of the holder's lease client: its connections on the primary are the holder's sign of life.</summary>
    internal const string HolderApp = "holderApp";
    internal const string FenceSeq = "fenceSeq";

    /// <summary>
    /// The acquisition's query: the name alone. MongoDB refuses <c>$expr</c> anywhere in an upsert's query
    /// (QueryFeatureNotAllowed, 224), so whether the lease may be taken is decided inside the pipeline
    /// (<see cref="AcquireUpdate"/>). An equality on <c>_id</c> also lets the server retry the upsert itself when a
    /// concurrent upsert inserted the document first.
    /// </summary>
    internal static BsonDocument AcquireFilter(string name) => new("_id", name);

    /// <summary>
    /// Starts a new tenure with the next epoch (1 for a lease upserted now) when nobody holds the lease or it has
    /// expired, and otherwise leaves every field as it is, so a refused acquisition writes nothing. Every field reads
    /// the document as it was before this stage, so each sees the same verdict.
    /// </summary>
    internal static BsonDocument[] AcquireUpdate(string holder, string holderUrl, string holderApp, Guid tenure, TimeSpan ttl)
    {
        var free = new BsonDocument("$or", new BsonArray
        {
            new BsonDocument("$eq", new BsonArray { new BsonDocument("$type", "$" + ExpiresAt), "missing" }),
            new BsonDocument("$lte", new BsonArray { "$" + ExpiresAt, Now }),
        });
        BsonValue IfFree(BsonValue taken, string field) => new BsonDocument("$cond", new BsonArray { free, taken, "$" + field });
        var tenureFields = NewTenure(holder, holderUrl, holderApp, tenure, ttl);
        var fields = new BsonDocument();
        foreach (var element in tenureFields)
        {
            fields.Add(element.Name, IfFree(element.Value, element.Name));
        }

        return Set(fields);
    }

    /// <summary>
    /// The takeover of a lease whose holder is gone before it expired: applied only while the lease is still in the
    /// tenure the contender found without its holder, so of two contenders one wins and the epoch rises once.
    /// </summary>
    internal static BsonDocument TakeOverFilter(string name, long epoch, Guid tenure) => new()
    {
        { "_id", name },
        { Epoch, new BsonInt64(epoch) },
        { Tenure, Binary(tenure) },
    };

    internal static BsonDocument[] TakeOverUpdate(string holder, string holderUrl, string holderApp, Guid tenure, TimeSpan ttl) =>
        Set(NewTenure(holder, holderUrl, holderApp, tenure, ttl));

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
    /// Written last in the transaction of every fenced write: an acquisition racing that transaction writes the same
    /// document, so one of the two meets a write conflict and the fenced write never lands under a newer epoch. The
    /// counter rises on every touch, so the touch always modifies the document and always takes its lock: a value
    /// such as <c>$$NOW</c> (milliseconds) can equal the previous touch's, and MongoDB skips a write that changes nothing.
    /// </summary>
    internal static BsonDocument[] FenceTouch() => Set(new BsonDocument(
        FenceSeq,
        new BsonDocument("$add", new BsonArray { new BsonDocument("$ifNull", new BsonArray { "$" + FenceSeq, new BsonInt64(0) }), new BsonInt64(1) })));

    /// <summary>The stored <c>serverNow</c> is the time of the last write; a read needs the clock at the read.</summary>
    internal static BsonDocument[] Read(string name) =>
    [
        new BsonDocument("$match", new BsonDocument("_id", name)),
        new BsonDocument("$addFields", new BsonDocument(ServerNow, Now)),
    ];

    /// <summary>
    /// The connections, idle or busy, that the holder's lease client has open on this server (the primary). A live
    /// holder always has some: its monitoring connection and the pooled one its renewals use. A killed process's
    /// sockets close with it and the server drops those connections at once. <c>allUsers</c> needs the
    /// <c>inprog</c> privilege (role <c>clusterMonitor</c>) where access control is on; without it the server
    /// refuses and the lease simply runs to its expiry.
    /// </summary>
    internal static BsonDocument[] HolderConnections(string holderApp) =>
    [
        new BsonDocument("$currentOp", new BsonDocument { { "allUsers", true }, { "idleConnections", true }, { "idleSessions", false } }),
        new BsonDocument("$match", new BsonDocument("appName", holderApp)),
        new BsonDocument("$limit", 1),
        new BsonDocument("$project", new BsonDocument { { "_id", 0 }, { "connectionId", 1 } }),
    ];

    internal static Lease ToLease(BsonDocument document) => new(
        document["_id"].AsString,
        document[Holder].AsString,
        document[HolderUrl].AsString,
        document[Epoch].ToInt64(),
        MongoTaskDocuments.ToTime(document[ExpiresAt]),
        MongoTaskDocuments.ToTime(document[ServerNow]));

    internal static Guid? TenureOf(BsonDocument document) =>
        document.TryGetValue(Tenure, out var tenure) && tenure.IsBsonBinaryData ? MongoTaskDocuments.ToGuid(tenure) : null;

    internal static string? HolderAppOf(BsonDocument document) =>
        document.TryGetValue(HolderApp, out var app) && app.IsString ? app.AsString : null;

    private static BsonDocument NewTenure(string holder, string holderUrl, string holderApp, Guid tenure, TimeSpan ttl) => new()
    {
        { Holder, Literal(holder) },
        { HolderUrl, Literal(holderUrl) },
        { HolderApp, Literal(holderApp) },
        { Tenure, Literal(Binary(tenure)) },
        {
            Epoch, new BsonDocument("$add", new BsonArray
            {
                new BsonDocument("$ifNull", new BsonArray { "$" + Epoch, new BsonInt64(0) }),
                new BsonInt64(1),
            })
        },
        { ExpiresAt, NowPlus(ttl) },
        { ServerNow, Now },
    };
}
