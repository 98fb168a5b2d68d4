using MongoDB.Bson;
using MongoDB.Driver;
using TaskServer.StorageManager.Failovers;

namespace TaskServer.StorageManager.Mongo;

/// <summary>The failover history in the <c>failovers</c> collection.</summary>
internal sealed class MongoFailoverLog(IMongoDatabase database) : IFailoverLog
{
    internal const string CollectionName = "failovers";

    private readonly IMongoCollection<BsonDocument> failovers = database.GetCollection<BsonDocument>(CollectionName);

    public Task RecordAsync(FailoverEvent failover, CancellationToken cancellationToken) =>
        failovers.InsertOneAsync(ToDocument(failover), cancellationToken: cancellationToken);

    public async Task<IReadOnlyList<FailoverEvent>> ListAsync(string leaseName, int limit, CancellationToken cancellationToken)
    {
        var documents = await failovers.Find(new BsonDocument("leaseName", leaseName))
            .Sort(new BsonDocument("promotedAt", -1))
            .Limit(limit)
            .ToListAsync(cancellationToken);
        return documents.ConvertAll(FromDocument);
    }

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
