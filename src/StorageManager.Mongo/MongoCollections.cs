using MongoDB.Bson;
using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

/// <summary>The three collections of the Mongo provider, as untyped documents mapped by hand to the model.</summary>
internal sealed class MongoCollections(IMongoDatabase database)
{
    internal const string TasksName = "tasks";
    internal const string NodesName = "nodes";
    internal const string LeasesName = "leases";

    public IMongoClient Client => database.Client;

    public IMongoCollection<BsonDocument> Tasks { get; } = database.GetCollection<BsonDocument>(TasksName);

    public IMongoCollection<BsonDocument> Nodes { get; } = database.GetCollection<BsonDocument>(NodesName);

    public IMongoCollection<BsonDocument> Leases { get; } = database.GetCollection<BsonDocument>(LeasesName);
}
