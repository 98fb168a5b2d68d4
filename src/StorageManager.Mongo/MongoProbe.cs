using MongoDB.Bson;
using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

internal sealed class MongoProbe(IMongoDatabase database) : IStorageProbe
{
    public Task PingAsync(CancellationToken cancellationToken) =>
        database.RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), cancellationToken: cancellationToken);
}
