using MongoDB.Bson;
using MongoDB.Driver;
using TaskServer.StorageManager.Failovers;

namespace TaskServer.StorageManager.Mongo;

/// <summary>The failover history in the <c>failovers</c> collection.</summary>
internal sealed class MongoFailoverLog(MongoCollections collections) : IFailoverLog
{
    private IMongoCollection<BsonDocument> Failovers => collections.Failovers;

    public Task RecordAsync(FailoverEvent failover, CancellationToken cancellationToken) =>
        MongoBounds.RunAsync(collections.Bounds.Call, token => Failovers.InsertOneAsync(ToDocument(failover), cancellationToken: token), cancellationToken);

    public async Task<IReadOnlyList<FailoverEvent>> ListAsync(string leaseName, int limit, CancellationToken cancellationToken)
    {
        var documents = await MongoBounds.RunAsync(
            collections.Bounds.Call,
            token => Failovers.Find(ListFilter(leaseName)).Sort(NewestFirst).Limit(limit).ToListAsync(token),
            cancellationToken);
        return documents.ConvertAll(FromDocument);
    }

    /// <summary>Served by the index <c>{ leaseName: 1, promotedAt: -1 }</c> (<see cref="MongoStorageInitializer"/>).</summary>
    internal static BsonDocument ListFilter(string leaseName) => new("leaseName", leaseName);

    internal static BsonDocument NewestFirst => new("promotedAt", -1);

    internal static BsonDocument ToDocument(FailoverEvent failover) => new()
    {
        { "_id", MongoCommands.Binary(failover.Id) },
        { "leaseName", failover.LeaseName },
        { "oldHolder", (BsonValue?)failover.OldHolder ?? BsonNull.Value },
        { "newHolder", failover.NewHolder },
        { "epoch", new BsonInt64(failover.Epoch) },
        { "lastContactAt", Date(failover.LastContactAt) },
        { "suspectedAt", Date(failover.SuspectedAt) },
        { "promotedAt", new BsonDateTime(failover.PromotedAt.UtcDateTime) },
    };

    internal static FailoverEvent FromDocument(BsonDocument document) => new(
        document["_id"].AsBsonBinaryData.ToGuid(GuidRepresentation.Standard),
        document["leaseName"].AsString,
        document["oldHolder"].IsBsonNull ? null : document["oldHolder"].AsString,
        document["newHolder"].AsString,
        document["epoch"].ToInt64(),
        Time(document["lastContactAt"]),
        Time(document["suspectedAt"]),
        Time(document["promotedAt"])!.Value);

    private static BsonValue Date(DateTimeOffset? value) => value is { } time ? new BsonDateTime(time.UtcDateTime) : BsonNull.Value;

    private static DateTimeOffset? Time(BsonValue value) =>
        value.IsBsonNull ? null : new DateTimeOffset(value.ToUniversalTime(), TimeSpan.Zero);
}
