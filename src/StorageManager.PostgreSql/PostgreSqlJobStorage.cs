using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;

namespace TaskServer.StorageManager.PostgreSql;

/// <summary>Hangfire.PostgreSql in its own schema of the task database.</summary>
internal static class PostgreSqlJobStorage
{
    public static JobStorage Create(string connectionString, StorageOptions options)
    {
        var storageOptions = new PostgreSqlStorageOptions
        {
            SchemaName = options.HangfireSchema,
            PrepareSchemaIfNecessary = true,
            QueuePollInterval = HangfireStorageTimings.QueuePollInterval,
            EnableLongPolling = false,
            InvisibilityTimeout = HangfireStorageTimings.InvisibilityTimeout,
            UseSlidingInvisibilityTimeout = true,
            DistributedLockTimeout = HangfireStorageTimings.DistributedLockTimeout,
        };
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, storageOptions), storageOptions);
    }
}
