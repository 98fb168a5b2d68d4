using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Mongo;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.PostgreSql;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ITaskStore"/>, <see cref="INodeRegistry"/>, <see cref="ILeaseStore"/> and
    /// <see cref="IStorageInitializer"/> for the provider named by <c>Storage:Provider</c>, and a hosted
    /// service that creates the schema before the node starts serving.
    /// </summary>
    public static IServiceCollection AddTaskStorage(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(StorageOptions.SectionName);
        services.AddOptions<StorageOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddHostedService<StorageInitializerService>();

        var provider = section.GetValue(nameof(StorageOptions.Provider), StorageProvider.Mongo);
        if (provider == StorageProvider.PostgreSql)
        {
            services.AddPostgreSqlStorage();
        }
        else
        {
            services.AddMongoStorage();
        }

        return services;
    }

    private sealed class StorageInitializerService(IStorageInitializer initializer) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => initializer.InitializeAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
