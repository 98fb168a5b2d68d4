using MongoDB.Bson;
using TaskServer.StorageManager.Nodes;
using static TaskServer.StorageManager.Mongo.MongoCommands;

namespace TaskServer.StorageManager.Mongo;

/// <summary>The filters, updates and pipelines of the <c>nodes</c> collection (<c>_id</c> = node id). Ages are measured by <c>$$NOW</c>.</summary>
internal static class MongoNodeCommands
{
    private const string Role = "role";
    private const string Url = "url";
    private const string Queued = "queued";
    private const string Running = "running";
    private const string Capacity = "capacity";
    private const string Quarantined = "quarantined";
    private const string Draining = "draining";
    private const string LastSeen = "lastSeen";
    private const string AgeMs = "ageMs";

    /// <summary>The node's own document: its heartbeat's upsert, and its leaving (which needs neither staleness nor a fence).</summary>
    internal static BsonDocument ById(string nodeId) => new("_id", nodeId);

    internal static BsonDocument[] HeartbeatUpdate(NodeHeartbeat heartbeat) => Set(new BsonDocument
    {
        { Role, Literal(heartbeat.Role.ToString()) },
        { Url, Literal(heartbeat.Url) },
        { Queued, Literal(heartbeat.Load.Queued) },
        { Running, Literal(heartbeat.Load.Running) },
        { Capacity, Literal(heartbeat.Load.Capacity) },
        { Quarantined, Literal(heartbeat.Load.Quarantined) },
        { Draining, Literal(heartbeat.Load.Draining) },
        { LastSeen, Now },
    });

    internal static BsonDocument[] List() => [SortById(), WithAge()];

    /// <summary>Nodes whose last heartbeat is younger than <paramref name="timeout"/>.</summary>
    internal static BsonDocument[] ListLive(TimeSpan timeout) =>
    [
        new BsonDocument("$match", new BsonDocument("$expr", new BsonDocument("$gt", new BsonArray { "$" + LastSeen, NowMinus(timeout) }))),
        SortById(),
        WithAge(),
    ];

    /// <summary>The node, only if its last heartbeat is younger than <paramref name="timeout"/>.</summary>
    internal static BsonDocument LiveFilter(string nodeId, TimeSpan timeout) => new()
    {
        { "_id", nodeId },
        { "$expr", new BsonDocument("$gt", new BsonArray { "$" + LastSeen, NowMinus(timeout) }) },
    };

    /// <summary>The node, only if its last heartbeat is at least <paramref name="timeout"/> old.</summary>
    internal static BsonDocument StaleFilter(string nodeId, TimeSpan timeout) => new()
    {
        { "_id", nodeId },
        { "$expr", new BsonDocument("$lte", new BsonArray { "$" + LastSeen, NowMinus(timeout) }) },
    };

    internal static NodeRecord ToNode(BsonDocument document) => new(
        document["_id"].AsString,
        Enum.Parse<NodeRole>(document[Role].AsString),
        document[Url].AsString,
        // Documents written before a field existed lack it: not quarantined, not draining.
        new NodeLoad(
            document[Queued].ToInt32(),
            document[Running].ToInt32(),
            document[Capacity].ToInt32(),
            document.GetValue(Quarantined, false).ToBoolean(),
            document.GetValue(Draining, false).ToBoolean()),
        MongoTaskDocuments.ToTime(document[LastSeen]),
        TimeSpan.FromMilliseconds(document[AgeMs].ToInt64()));

    private static BsonDocument SortById() => new("$sort", new BsonDocument("_id", 1));

    private static BsonDocument WithAge() =>
        new("$addFields", new BsonDocument(AgeMs, new BsonDocument("$subtract", new BsonArray { Now, "$" + LastSeen })));
}
