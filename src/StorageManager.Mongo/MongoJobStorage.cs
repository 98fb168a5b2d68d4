using Hangfire;
using Hangfire.Mongo;
using Hangfire.Mongo.Migration.Strategies;
using Hangfire.Mongo.Migration.Strategies.Backup;
using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

/// <summary>Hangfire.Mongo in the task database, its collections under a prefix.</summary>
internal static class MongoJobStorage
{
    public static JobStorage Create(IMongoClient client, StorageOptions options)
    {
        var storageOptions = new MongoStorageOptions
        {
            Prefix = options.HangfireSchema,
            QueuePollInterval = HangfireStorageTimings.QueuePollInterval,
            SlidingInvisibilityTimeout = HangfireStorageTimings.InvisibilityTimeout,
            DistributedLockLifetime = HangfireStorageTimings.DistributedLockTimeout,
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
