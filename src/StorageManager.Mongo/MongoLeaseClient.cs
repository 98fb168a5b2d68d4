using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Servers;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// The lease's own client: a small pool apart from Hangfire's and the task store's, so a renewal never queues behind
/// them, and a name (<c>appName</c>) no other process uses, so a contender can ask the primary whether this holder
/// still has connections open (<see cref="MongoLeaseCommands.HolderConnections"/>).
/// </summary>
internal sealed class MongoLeaseClient : IDisposable
{
    private const int PoolSize = 8;

    private readonly MongoClient client;

    public MongoLeaseClient(MongoClientSettings shared, string database, MongoBounds bounds)
    {
        AppName = $"taskserver-lease-{Guid.NewGuid():N}";
        Bound = bounds.Lease;
        client = new MongoClient(CreateSettings(shared, AppName, bounds.Lease));
        Leases = client.GetDatabase(database).GetCollection<BsonDocument>(MongoCollections.LeasesName);
        Admin = client.GetDatabase("admin");
    }

    /// <summary>Unique to this process: the holder's name on the server.</summary>
    public string AppName { get; }

    /// <summary>Every lease call answers within this or fails (<see cref="MongoBounds.Lease"/>).</summary>
    public TimeSpan Bound { get; }

    public IMongoCollection<BsonDocument> Leases { get; }

    /// <summary><c>$currentOp</c> runs on the admin database.</summary>
    public IMongoDatabase Admin { get; }

    public void Dispose() => client.Dispose();

    /// <summary>
    /// Majority writes and reads on the primary whatever the connection string says: an acknowledged tenure must
    /// survive an election. The monitor polls instead of streaming, so between checks its connection is idle and a
    /// killed holder's connections all end as soon as its sockets close.
    /// </summary>
    internal static MongoClientSettings CreateSettings(MongoClientSettings shared, string appName, TimeSpan bound)
    {
        var settings = shared.Clone();
        settings.ApplicationName = appName;
        settings.MaxConnectionPoolSize = PoolSize;
        settings.MinConnectionPoolSize = 1;
        settings.ServerMonitoringMode = ServerMonitoringMode.Poll;
        settings.ReadPreference = ReadPreference.Primary;
        settings.ReadConcern = ReadConcern.Majority;
        settings.WriteConcern = MongoBounds.Majority(bound);
        settings.ServerSelectionTimeout = bound;
        settings.WaitQueueTimeout = bound;
        return settings;
    }
}
