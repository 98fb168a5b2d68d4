using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.PostgreSql;

public static class PostgreSqlStorageServiceCollectionExtensions
{
    /// <summary>The task stores, the lease, the registry and Hangfire's storage on PostgreSQL (<c>Storage:Provider</c> = <c>PostgreSql</c>).</summary>
    public static IServiceCollection AddPostgreSqlTaskStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTaskStorageServices(configuration);
        services.AddSingleton<IStorageErrorClassifier, PostgreSqlErrors>();
        services.AddSingleton(provider =>
        {
            var builder = new NpgsqlDataSourceBuilder(PooledConnectionString(provider.GetRequiredService<IOptions<StorageOptions>>().Value, "taskserver"));
            builder.UseLoggerFactory(provider.GetRequiredService<ILoggerFactory>());
            return builder.Build();
        });
        services.AddSingleton<PostgreSqlTables>();
        services.AddSingleton(provider => new PostgreSqlLeaseSessions(provider.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString));
        services.AddSingleton<IStorageInitializer, PostgreSqlSchema>();
        services.AddSingleton<IStorageProbe, PostgreSqlProbe>();
        services.AddSingleton<ITaskStore, PostgreSqlTaskStore>();
        services.AddSingleton<INodeRegistry, PostgreSqlNodeRegistry>();
        services.AddSingleton<ILeaseStore, PostgreSqlLeaseStore>();
        services.AddSingleton<IFailoverLog, PostgreSqlFailoverLog>();
        services.AddSingleton(provider => PostgreSqlJobStorage.Create(
            PooledConnectionString(provider.GetRequiredService<IOptions<StorageOptions>>().Value, "taskserver-hangfire"),
            provider.GetRequiredService<IOptions<StorageOptions>>().Value));
        return services;
    }

    // Enough for the task store's and Hangfire's recurring statements; a connection evicts the least used beyond it.
    private const int AutoPreparedStatements = 64;

    private const int AutoPrepareAfterUses = 2;

    /// <summary>
    /// The connection string of one of the node's pools: at most <see cref="StorageOptions.MaxPoolSize"/> connections,
    /// and an application name (unless the operator chose one) that tells the pools apart in pg_stat_activity. Npgsql
    /// keys its pools by connection string, so the two names also keep Hangfire's pool apart from the task store's.
    /// Neither pool leaves session state behind other than prepared statements (no LISTEN, no session locks),
    /// so the <c>DISCARD ALL</c> Npgsql would send on every reuse is a round trip per task and more for nothing.
    /// The few statements of the hot path run thousands of times a second with the same text: prepared on each
    /// connection once they repeat, PostgreSQL stops parsing and planning them per call (unless the operator's
    /// connection string says otherwise).
    /// </summary>
    internal static string PooledConnectionString(StorageOptions options, string applicationName)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString) { MaxPoolSize = options.MaxPoolSize, NoResetOnClose = true };
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = applicationName;
        }

        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = AutoPreparedStatements;
            builder.AutoPrepareMinUsages = AutoPrepareAfterUses;
        }

        return builder.ConnectionString;
    }
}
