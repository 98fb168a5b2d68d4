using System.Linq.Expressions;
using Hangfire;
using Hangfire.Common;
using Hangfire.Mongo;
using Hangfire.Mongo.Migration.Strategies;
using Hangfire.Mongo.Migration.Strategies.Backup;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.States;
using MongoDB.Driver;
using Npgsql;
using TaskServer.Drill.Cluster;

namespace TaskServer.Drill.Bench;

/// <summary>
/// Hangfire's own enqueue on the cluster's database, from this process: the floor under what a
/// worker's intake can do, since the intake enqueues one Hangfire job per task besides its own writes.
/// The job is a no-op on a queue no server fetches, so nothing runs it; the jobs are deleted afterwards.
/// </summary>
internal sealed class RawHangfireEnqueue(ClusterEnv env)
{
    public const string Queue = "bench_raw";

    // Hangfire's schema (PostgreSQL) or collection prefix (MongoDB), as the nodes configure it by default.
    private const string HangfireSchema = "hangfire";

    private static readonly Expression<Action> NoOp = () => Console.WriteLine();

    public async Task<(int Created, int Errors, double Seconds)> RunAsync(int concurrency, TimeSpan duration, CancellationToken cancellationToken)
    {
        var storage = Storage();
        var client = new BackgroundJobClient(storage);
        var job = Job.FromExpression(NoOp);
        var created = 0;
        var errors = 0;
        var started = TimeProvider.System.GetTimestamp();

        // BackgroundJobClient.Create is synchronous (Hangfire has no async client API): each caller gets
        // a thread of its own rather than blocking the thread pool.
        var callers = Enumerable.Range(0, concurrency).Select(_ => Task.Factory.StartNew(
            () =>
            {
                while (TimeProvider.System.GetElapsedTime(started) < duration && !cancellationToken.IsCancellationRequested)
                {
                    try
                    {
                        client.Create(job, new EnqueuedState(Queue));
                        Interlocked.Increment(ref created);
                    }
                    catch (BackgroundJobClientException)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default));
        await Task.WhenAll(callers);
        return (created, errors, TimeProvider.System.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>Deletes the bench's jobs; returns how many, or null where that is not done (MongoDB: they stay, on a queue nobody serves).</summary>
    public async Task<int?> CleanUpAsync(CancellationToken cancellationToken)
    {
        if (!env.IsPostgreSql)
        {
            return null;
        }

        await using var connection = new NpgsqlConnection(env.StorageConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"""
            WITH queued AS (DELETE FROM {HangfireSchema}.jobqueue WHERE queue = @queue RETURNING jobid)
            DELETE FROM {HangfireSchema}.job WHERE id IN (SELECT jobid FROM queued)
            """,
            connection);
        command.Parameters.AddWithValue("queue", Queue);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The same storage the nodes build (StorageManager's JobStorageFactory), minus what only a server needs.</summary>
    private JobStorage Storage()
    {
        if (env.IsPostgreSql)
        {
            var options = new PostgreSqlStorageOptions { SchemaName = HangfireSchema, PrepareSchemaIfNecessary = false };
            return new PostgreSqlStorage(new NpgsqlConnectionFactory(env.StorageConnectionString, options), options);
        }

        var url = MongoUrl.Create(env.StorageConnectionString);
        return new MongoStorage(
            new MongoClient(url),
            env.StorageDatabase ?? url.DatabaseName ?? "taskserver",
            new MongoStorageOptions
            {
                Prefix = HangfireSchema,
                CheckQueuedJobsStrategy = CheckQueuedJobsStrategy.TailNotificationsCollection,
                MigrationOptions = new MongoMigrationOptions
                {
                    MigrationStrategy = new MigrateMongoMigrationStrategy(),
                    BackupStrategy = new NoneMongoBackupStrategy(),
                },
            });
    }
}
