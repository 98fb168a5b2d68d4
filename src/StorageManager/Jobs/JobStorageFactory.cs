using Hangfire;
using Hangfire.Mongo;
using Hangfire.Mongo.Migration.Strategies;
using Hangfire.Mongo.Migration.Strategies.Backup;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using MongoDB.Driver;

namespace TaskServer.StorageManager.Jobs;

/// <summary>
/// Hangfire's storage on the same database as the tasks: Hangfire.PostgreSql in its own schema, or
/// Hangfire.Mongo in the task database with a collection prefix.
/// </summary>
internal static class JobStorageFactory
{
    // A worker thread with nothing to do waits this long before polling its queue again (Mongo's queue
    // watcher wakes fetchers early through its notifications collection). PostgreSQL's long polling is
    // off: its one NOTIFY channel woke every idle fetcher of every node on each enqueue (~80 on the
    // local cluster, all racing for one job), and each waiting fetcher held a pooled connection, so the
    // bench measured 164 statements per task and intake waited for connections. Without it: 46.
    private static readonly TimeSpan QueuePollInterval = TimeSpan.FromSeconds(1);

    // A job fetched by a server that died becomes visible again after this; TaskServer's sweeper
    // requeues a dead worker's tasks much sooner, so this is only Hangfire's own last resort.
    private static readonly TimeSpan InvisibilityTimeout = TimeSpan.FromMinutes(5);

    // Hangfire takes a distributed lock (a row) around every job state change. A connection cut between
    // taking and releasing it leaves the row behind, and the job stalls until the row is this old; the
    // default, 10 minutes, turned a two-second database outage into a ten-minute stall. Hangfire holds
    // these locks for milliseconds, so 30 s (Hangfire.Mongo's own default) is ample.
    private static readonly TimeSpan DistributedLockTimeout = TimeSpan.FromSeconds(30);

    public static JobStorage CreatePostgreSql(string connectionString, StorageOptions options)
    {
        var storageOptions = new PostgreSqlStorageOptions
        {
            SchemaName = options.HangfireSchema,
            PrepareSchemaIfNecessary = true,
            QueuePollInterval = QueuePollInterval,
            EnableLongPolling = false,
            InvisibilityTimeout = InvisibilityTimeout,
            UseSlidingInvisibilityTimeout = true,
            DistributedLockTimeout = DistributedLockTimeout,
        };
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, storageOptions), storageOptions);
    }

    public static JobStorage CreateMongo(IMongoClient client, StorageOptions options)
    {
        var storageOptions = new MongoStorageOptions
        {
            Prefix = options.HangfireSchema,
            QueuePollInterval = QueuePollInterval,
            SlidingInvisibilityTimeout = InvisibilityTimeout,
            DistributedLockLifetime = DistributedLockTimeout,
            CheckQueuedJobsStrategy = CheckQueuedJobsStrategy.TailNotificationsCollection,
            MigrationOptions = new MongoMigrationOptions
            {
                MigrationStrategy = new MigrateMongoMigrationStrategy(),
                BackupStrategy = new NoneMongoBackupStrategy(),
            },
        };
        return new MongoStorage(client, options.Database, storageOptions);
    }
}
