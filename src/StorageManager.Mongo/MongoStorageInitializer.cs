using MongoDB.Bson;
using MongoDB.Driver;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// Checks that the server can run this provider, then creates the collections with their validators and their indexes
/// and records the schema version. Creating an index that exists with the same keys and options is a no-op on the
/// server, and so is re-applying a validator, so every node runs this at start.
/// </summary>
internal sealed class MongoStorageInitializer(MongoCollections collections) : IStorageInitializer
{
    /// <summary>Raised when the documents' shape changes; a node refuses a database a newer build has already migrated.</summary>
    internal const int SchemaVersion = 1;

    private const int NamespaceExistsCode = 48;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var bound = collections.Bounds.Call;
        var hello = await MongoBounds.RunAsync(
            bound,
            token => collections.Database.RunCommandAsync<BsonDocument>(new BsonDocument("hello", 1), ReadPreference.Primary, token),
            cancellationToken);
        RequireTransactions(hello);
        await MongoBounds.RunAsync(bound, token => CheckSchemaVersionAsync(token), cancellationToken);
        foreach (var (name, validator) in Validators())
        {
            await MongoBounds.RunAsync(bound, token => ApplyValidatorAsync(name, validator, token), cancellationToken);
        }

        await MongoBounds.RunAsync(bound, token => collections.Tasks.Indexes.CreateManyAsync(TaskIndexes(), token), cancellationToken);
        await MongoBounds.RunAsync(bound, token => collections.Failovers.Indexes.CreateManyAsync(FailoverIndexes(), token), cancellationToken);
    }

    /// <summary>
    /// Fenced writes are transactions, which MongoDB runs only on a replica set member or through mongos; on a
    /// standalone server every rescue and eviction would fail while the rest seemed to work.
    /// </summary>
    internal static void RequireTransactions(BsonDocument hello)
    {
        var replicaSet = hello.TryGetValue("setName", out var setName) && setName.IsString;
        var router = hello.TryGetValue("msg", out var msg) && msg == "isdbgrid";
        if (!replicaSet && !router)
        {
            throw new InvalidOperationException(
                "MongoDB is a standalone server: the Mongo provider needs a replica set (fenced writes are transactions). " +
                "Start mongod with --replSet and initiate it (a one-member set will do), then name it in Storage:ConnectionString (replicaSet=...).");
        }
    }

    /// <summary>
    /// The tasks collection's validator: what <see cref="MongoTaskDocuments.ToTask"/> needs to read a task back, so a
    /// malformed document is refused at the write instead of failing every later read of a list that holds it.
    /// </summary>
    internal static BsonDocument TaskValidator() => new("$jsonSchema", new BsonDocument
    {
        { "bsonType", "object" },
        {
            "required", new BsonArray
            {
                TaskField.Id, TaskField.Type, TaskField.Payload, TaskField.Status, TaskField.Attempt, TaskField.AttemptToken,
                TaskField.MaxAttempts, TaskField.CreatedAt,
            }
        },
        {
            "properties", new BsonDocument
            {
                { TaskField.Id, new BsonDocument("bsonType", "binData") },
                { TaskField.Type, new BsonDocument("bsonType", "string") },
                { TaskField.Status, new BsonDocument("enum", new BsonArray(Enum.GetNames<TaskState>())) },
                { TaskField.Attempt, new BsonDocument("bsonType", new BsonArray { "int", "long" }) },
                { TaskField.AttemptToken, new BsonDocument("bsonType", "binData") },
                { TaskField.MaxAttempts, new BsonDocument("bsonType", new BsonArray { "int", "long" }) },
                // Not required: tasks stored before timeouts were recorded have none (they read back as 5 minutes).
                { TaskField.TimeoutMs, new BsonDocument { { "bsonType", new BsonArray { "int", "long" } }, { "minimum", 1 } } },
                { TaskField.Worker, new BsonDocument("bsonType", "string") },
                { TaskField.IdempotencyKey, new BsonDocument("bsonType", "string") },
                { TaskField.CreatedAt, new BsonDocument("bsonType", "date") },
                { TaskField.StartedAt, new BsonDocument("bsonType", "date") },
                { TaskField.FinishedAt, new BsonDocument("bsonType", "date") },
                { TaskField.DueAt, new BsonDocument("bsonType", "date") },
                { TaskField.History, new BsonDocument("bsonType", "array") },
            }
        },
    });

    /// <summary>The leases collection's validator: what <see cref="MongoLeaseCommands.ToLease"/> needs.</summary>
    internal static BsonDocument LeaseValidator() => new("$jsonSchema", new BsonDocument
    {
        { "bsonType", "object" },
        { "required", new BsonArray { "_id", MongoLeaseCommands.Holder, MongoLeaseCommands.HolderUrl, MongoLeaseCommands.Epoch, MongoLeaseCommands.ExpiresAt } },
        {
            "properties", new BsonDocument
            {
                { "_id", new BsonDocument("bsonType", "string") },
                { MongoLeaseCommands.Holder, new BsonDocument("bsonType", "string") },
                { MongoLeaseCommands.Epoch, new BsonDocument("bsonType", "long") },
                { MongoLeaseCommands.ExpiresAt, new BsonDocument("bsonType", "date") },
            }
        },
    });

    internal static IReadOnlyList<(string Collection, BsonDocument Validator)> Validators() =>
    [
        (MongoCollections.TasksName, TaskValidator()),
        (MongoCollections.LeasesName, LeaseValidator()),
    ];

    /// <summary>Records this build's schema version, and refuses a database a newer build has moved on.</summary>
    internal static BsonDocument[] SchemaVersionUpdate() =>
        MongoCommands.Set(new BsonDocument("version", new BsonDocument("$max", new BsonArray
        {
            new BsonDocument("$ifNull", new BsonArray { "$version", 0 }),
            SchemaVersion,
        })));

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
        // A worker's own orphans and its load counted from the index alone; the rescue's candidates, and eviction's
        // look for a task the node still owns.
        new(new BsonDocument { { TaskField.Worker, 1 }, { TaskField.Status, 1 }, { TaskField.DueAt, 1 } }),
        // Listing newest first by status or by type; counting by status.
        new(new BsonDocument { { TaskField.Status, 1 }, { TaskField.Id, -1 } }),
        new(new BsonDocument { { TaskField.Type, 1 }, { TaskField.Id, -1 } }),
        // The claim: a worker's Queued tasks, oldest first.
        new(
            new BsonDocument { { TaskField.Worker, 1 }, { TaskField.Id, 1 } },
            new CreateIndexOptions<BsonDocument>
            {
                Name = "claimable",
                PartialFilterExpression = new BsonDocument(TaskField.Status, nameof(TaskState.Queued)),
            }),
        // The read-back of a claim: only running tasks are in it.
        new(
            new BsonDocument(TaskField.ClaimId, 1),
            new CreateIndexOptions<BsonDocument>
            {
                Name = "claimed",
                PartialFilterExpression = new BsonDocument(TaskField.Status, nameof(TaskState.Running)),
            }),
        // Listing one client's tasks, newest first.
        new(new BsonDocument { { TaskField.Owner, 1 }, { TaskField.Id, -1 } }),
        // Retention: finished tasks, oldest finish first.
        new(
            new BsonDocument(TaskField.FinishedAt, 1),
            new CreateIndexOptions<BsonDocument>
            {
                Name = "finished",
                PartialFilterExpression = new BsonDocument(TaskField.Status, new BsonDocument("$in", new BsonArray
                {
                    nameof(TaskState.Succeeded), nameof(TaskState.Failed), nameof(TaskState.Cancelled),
                })),
            }),
    ];

    /// <summary>The failover history of a lease, newest first (every /cluster read).</summary>
    internal static IReadOnlyList<CreateIndexModel<BsonDocument>> FailoverIndexes() =>
    [
        new(new BsonDocument { { "leaseName", 1 }, { "promotedAt", -1 } }),
    ];

    private async Task CheckSchemaVersionAsync(CancellationToken cancellationToken)
    {
        var recorded = await collections.Schema.FindOneAndUpdateAsync(
            new BsonDocument("_id", MongoCollections.TasksName),
            MongoCommands.Update(SchemaVersionUpdate()),
            new FindOneAndUpdateOptions<BsonDocument> { IsUpsert = true, ReturnDocument = ReturnDocument.After },
            cancellationToken);
        var version = recorded["version"].ToInt32();
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException(
                $"The database holds TaskServer's MongoDB schema version {version}; this build knows version {SchemaVersion}. Run a build at least as new.");
        }
    }

    private async Task ApplyValidatorAsync(string collection, BsonDocument validator, CancellationToken cancellationToken)
    {
        try
        {
            await collections.Database.CreateCollectionAsync(
                collection,
                new CreateCollectionOptions<BsonDocument> { Validator = validator, ValidationLevel = DocumentValidationLevel.Strict, ValidationAction = DocumentValidationAction.Error },
                cancellationToken);
        }
        catch (MongoCommandException e) when (e.Code == NamespaceExistsCode)
        {
            await collections.Database.RunCommandAsync<BsonDocument>(
                new BsonDocument { { "collMod", collection }, { "validator", validator }, { "validationLevel", "strict" }, { "validationAction", "error" } },
                cancellationToken: cancellationToken);
        }
    }
}
