using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MongoDB.Driver;
using MongoDB.Driver.Core.Configuration;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Mongo;

public static class MongoStorageServiceCollectionExtensions
{
    /// <summary>The task stores, the lease, the registry and Hangfire's storage on MongoDB (<c>Storage:Provider</c> = <c>Mongo</c>, a replica set).</summary>
    public static IServiceCollection AddMongoTaskStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTaskStorageServices(configuration);
        services.AddSingleton<IStorageErrorClassifier, MongoErrors>();
        services.TryAddSingleton(MongoBounds.Default);
        services.AddSingleton(provider => CreateClientSettings(
            provider.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString,
            provider.GetService<ILoggerFactory>()));
        services.AddSingleton<IMongoClient>(provider => new MongoClient(provider.GetRequiredService<MongoClientSettings>()));
        services.AddSingleton(provider => new MongoLeaseClient(
            provider.GetRequiredService<MongoClientSettings>(),
            provider.GetRequiredService<IOptions<StorageOptions>>().Value.Database,
            provider.GetRequiredService<MongoBounds>()));
        services.AddSingleton(provider => provider.GetRequiredService<IMongoClient>()
            .GetDatabase(provider.GetRequiredService<IOptions<StorageOptions>>().Value.Database));
        services.AddSingleton<MongoCollections>();
        services.AddSingleton<MongoFencedWriter>();
        services.AddSingleton<IStorageInitializer, MongoStorageInitializer>();
        services.AddSingleton<IStorageProbe, MongoProbe>();
        services.AddSingleton(provider => MongoJobStorage.Create(
            provider.GetRequiredService<IMongoClient>(), provider.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton<ITaskStore, MongoTaskStore>();
        services.AddSingleton<INodeRegistry, MongoNodeRegistry>();
        services.AddSingleton<ILeaseStore, MongoLeaseStore>();
        services.AddSingleton<IFailoverLog, MongoFailoverLog>();
        return services;
    }

    /// <summary>
    /// The shared client (Hangfire's, and the task store's, whose collections pin majority and the primary themselves:
    /// <see cref="MongoCollections"/>). Hangfire's own writes wait for a majority and its reads see majority data
    /// unless the connection string chooses otherwise.
    /// </summary>
    internal static MongoClientSettings CreateClientSettings(string connectionString, ILoggerFactory? loggerFactory)
    {
        var settings = MongoClientSettings.FromConnectionString(connectionString);
        if (settings.WriteConcern.W is null)
        {
            settings.WriteConcern = settings.WriteConcern.With(mode: "majority");
        }

        if (settings.ReadConcern.Level is null)
        {
            settings.ReadConcern = ReadConcern.Majority;
        }

        if (loggerFactory is not null)
        {
            settings.LoggingSettings = new LoggingSettings(loggerFactory);
        }

        return settings;
    }
}
