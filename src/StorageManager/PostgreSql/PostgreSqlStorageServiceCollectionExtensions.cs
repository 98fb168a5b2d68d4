using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Jobs;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.PostgreSql;

internal static class PostgreSqlStorageServiceCollectionExtensions
{
    internal static IServiceCollection AddPostgreSqlStorage(this IServiceCollection services)
    {
        services.AddSingleton(provider =>
        {
            var builder = new NpgsqlDataSourceBuilder(provider.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString);
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
        services.AddSingleton(provider => JobStorageFactory.CreatePostgreSql(provider.GetRequiredService<IOptions<StorageOptions>>().Value));
        return services;
    }
}
