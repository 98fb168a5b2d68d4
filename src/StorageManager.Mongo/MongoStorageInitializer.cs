using MongoDB.Bson;
using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// Creates the task indexes. Creating an index that exists with the same keys and options is a no-op on the
/// server, so every node runs this at start. The nodes and leases collections are only read by <c>_id</c>.
/// </summary>
internal sealed class MongoStorageInitializer(MongoCollections collections) : IStorageInitializer
{
    public Task InitializeAsync(CancellationToken cancellationToken) =>
        collections.Tasks.Indexes.CreateManyAsync(TaskIndexes(), cancellationToken);

    internal static IReadOnlyList<CreateIndexModel<BsonDocument>> TaskIndexes() =>
    [
        // One task per idempotency key. Tasks without a key have no such field and stay out of the index.
        new(
            new BsonDocument(TaskField.IdempotencyKey, 1),
            new CreateIndexOptions<BsonDocument>
            {
                Name = "idempotencyKey_unique",
                Unique = true,
                PartialFilterExpression = new BsonDocument(TaskField.IdempotencyKey, new BsonDocument("$type", "string")),
            }),
        // The sweeper's work list.
        new(new BsonDocument { { TaskField.Worker, 1 }, { TaskField.Status, 1 } }),
        // Listing newest first by status or by type.
        new(new BsonDocument { { TaskField.Status, 1 }, { TaskField.Id, -1 } }),
        new(new BsonDocument { { TaskField.Type, 1 }, { TaskField.Id, -1 } }),
        // A client's own tasks, newest first.
        new(new BsonDocument { { TaskField.Owner, 1 }, { TaskField.Id, -1 } }),
        // Queued tasks without a job, oldest first. A partial index on "no jobId" is not used: older servers
        // refuse $exists: false and null equality in a partial filter.
        new(new BsonDocument { { TaskField.Status, 1 }, { TaskField.CreatedAt, 1 } }),
    ];
}
