using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace TaskServer.StorageManager;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// What every provider registers besides its stores: the validated <c>Storage</c> options, the error
    /// classification and a hosted service that creates the schema before the node starts serving. Each
    /// provider's own <c>Add…TaskStorage</c> calls this; the composition root picks the provider.
    /// </summary>
    public static IServiceCollection AddTaskStorageServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddSingleton<StorageErrors>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StorageContact>();
        services.AddHostedService<StorageInitializerService>();
        return services;
    }

    /// <summary>The provider <c>Storage:Provider</c> names (Mongo when unset).</summary>
    public static StorageProvider ConfiguredProvider(IConfiguration configuration) =>
        configuration.GetSection(StorageOptions.SectionName).GetValue(nameof(StorageOptions.Provider), StorageProvider.Mongo);

    private sealed class StorageInitializerService(IStorageInitializer initializer) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => initializer.InitializeAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
