using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using DotNet.Testcontainers.Builders;
using MongoDB.Driver;
using Testcontainers.MongoDb;
using TaskServer.StorageManager.Mongo;
using TaskServer.StorageManager.Tests.Contract;

namespace TaskServer.StorageManager.Tests.Mongo;

/// <summary>
/// A throwaway database on a MongoDB replica set (fenced writes use transactions): <c>TASKSERVER_TEST_MONGO</c>
/// names a server, else Testcontainers starts a single-node replica set. With neither, the tests are skipped
/// with the reason rather than failed: MongoDB cannot be installed on every development machine.
/// </summary>
public sealed class MongoFixture : StorageFixture
{
    private const string Image = "mongo:8.0";

    private readonly string database = $"taskserver_test_{Guid.NewGuid():N}";
    private string? serverConnectionString;
    private MongoDbContainer? container;

    /// <summary>The server the stores use, for tests that need a second client of their own.</summary>
    public string ConnectionString { get; private set; } = "";

    public string Database => database;

    protected override IServiceCollection AddProvider(IServiceCollection services, IConfiguration configuration) => services.AddMongoTaskStorage(configuration);

    protected override async ValueTask<(IReadOnlyDictionary<string, string?>? Settings, string? SkipReason)> StartDatabaseAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("TASKSERVER_TEST_MONGO");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            serverConnectionString = fromEnvironment;
            ConnectionString = fromEnvironment;
            return (Settings(fromEnvironment), null);
        }

        try
        {
            container = new MongoDbBuilder(Image).WithReplicaSet("rs0").Build();
            await container.StartAsync();
        }
        catch (DockerUnavailableException e)
        {
            container = null;
            var reason = e.Message.Split('\n', 2)[0].Trim();
            return (null, $"MongoDB contract tests skipped: no Docker engine reachable for Testcontainers and TASKSERVER_TEST_MONGO is not set ({reason})");
        }

        // The replica set names its member by the container's own address; connect to the mapped port directly.
        var connectionString = new MongoUrlBuilder(container.GetConnectionString()) { DirectConnection = true }.ToString();
        ConnectionString = connectionString;
        return (Settings(connectionString), null);
    }

    protected override async ValueTask StopDatabaseAsync()
    {
        if (container is not null)
        {
            await container.DisposeAsync();
        }
        else if (serverConnectionString is not null)
        {
            using var client = new MongoClient(serverConnectionString);
            await client.DropDatabaseAsync(database);
        }
    }

    private Dictionary<string, string?> Settings(string connectionString) => new()
    {
        ["Storage:Provider"] = "Mongo",
        ["Storage:ConnectionString"] = connectionString,
        ["Storage:Database"] = database,
    };
}
