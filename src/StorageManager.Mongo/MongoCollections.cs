using MongoDB.Bson;
using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// The provider's collections, as untyped documents mapped by hand to the model. Whatever the connection string says,
/// they write to a majority and read majority-committed data from the primary (an acknowledged task, a granted lease
/// or a rescue must survive an election, and a task just written must be readable), and every call is bounded (<see cref="MongoBounds"/>).
/// </summary>
internal sealed class MongoCollections(IMongoDatabase database, MongoBounds bounds)
{
    internal const string TasksName = "tasks";
    internal const string NodesName = "nodes";
    internal const string LeasesName = "leases";
    internal const string FailoversName = "failovers";
    internal const string SchemaName = "schema";

    internal static MongoCollectionSettings SettingsFor(MongoBounds bounds) => new()
    {
        WriteConcern = MongoBounds.Majority(bounds.Call),
        ReadConcern = ReadConcern.Majority,
        ReadPreference = ReadPreference.Primary,
    };

    public MongoBounds Bounds => bounds;

    public IMongoClient Client => database.Client;

    public IMongoDatabase Database => database;

    public IMongoCollection<BsonDocument> Tasks { get; } = database.GetCollection<BsonDocument>(TasksName, SettingsFor(bounds));

    public IMongoCollection<BsonDocument> Nodes { get; } = database.GetCollection<BsonDocument>(NodesName, SettingsFor(bounds));

    /// <summary>The lease as fenced writes touch it, inside their transaction on this client (the lease store has its own client).</summary>
    public IMongoCollection<BsonDocument> Leases { get; } = database.GetCollection<BsonDocument>(LeasesName, SettingsFor(bounds));

    public IMongoCollection<BsonDocument> Failovers { get; } = database.GetCollection<BsonDocument>(FailoversName, SettingsFor(bounds));

    public IMongoCollection<BsonDocument> Schema { get; } = database.GetCollection<BsonDocument>(SchemaName, SettingsFor(bounds));
}
