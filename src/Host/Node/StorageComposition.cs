using TaskServer.StorageManager;
using TaskServer.StorageManager.Mongo;
using TaskServer.StorageManager.PostgreSql;

namespace TaskServer.Host.Node;

/// <summary>The one place a node picks its storage provider, as an application picks its Hangfire storage.</summary>
internal static class StorageComposition
{
    public static IServiceCollection AddTaskStorage(this IServiceCollection services, IConfiguration configuration) =>
        StorageServiceCollectionExtensions.ConfiguredProvider(configuration) == StorageProvider.PostgreSql
            ? services.AddPostgreSqlTaskStorage(configuration)
            : services.AddMongoTaskStorage(configuration);
}
