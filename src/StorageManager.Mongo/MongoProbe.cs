using MongoDB.Bson;
using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

internal sealed class MongoProbe(MongoCollections collections) : IStorageProbe
{
    public Task PingAsync(CancellationToken cancellationToken) =>
        MongoBounds.RunAsync(
            collections.Bounds.Call,
            token => collections.Database.RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), ReadPreference.Primary, token),
            cancellationToken);
}
