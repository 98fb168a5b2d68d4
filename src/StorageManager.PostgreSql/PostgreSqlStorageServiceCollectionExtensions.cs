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

    /// <summary>
    /// The connection string of one of the node's pools: at most <see cref="StorageOptions.MaxPoolSize"/> connections,
    /// and an application name (unless the operator chose one) that tells the pools apart in pg_stat_activity. Npgsql
    /// keys its pools by connection string, so the two names also keep Hangfire's pool apart from the task store's.
    /// Neither pool leaves session state behind (no LISTEN, session locks or prepared statements), so the
    /// <c>DISCARD ALL</c> Npgsql would send on every reuse is a round trip per task and more for nothing.
    /// </summary>
    internal static string PooledConnectionString(StorageOptions options, string applicationName)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString) { MaxPoolSize = options.MaxPoolSize, NoResetOnClose = true };
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = applicationName;
        }

        return builder.ConnectionString;
    }
}
