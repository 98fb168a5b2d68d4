using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Tests.Contract;

/// <summary>
/// One provider's stores on a real, throwaway database, built through the provider's own registration
/// (<see cref="AddProvider"/>), exactly as a node builds them. A provider whose database cannot be had here reports why, and its
/// contract tests are reported as skipped with that reason.
/// </summary>
public abstract class StorageFixture : IAsyncLifetime
{
    private ServiceProvider? services;

    public string? SkipReason { get; private set; }

    /// <summary>Each store marks the calling test skipped when this provider has no database here.</summary>
    public ITaskStore Tasks => Services.GetRequiredService<ITaskStore>();

    public INodeRegistry Nodes => Services.GetRequiredService<INodeRegistry>();

    public ILeaseStore Leases => Services.GetRequiredService<ILeaseStore>();

    public IStorageProbe Probe => Services.GetRequiredService<IStorageProbe>();

    public IFailoverLog Failovers => Services.GetRequiredService<IFailoverLog>();

    private ServiceProvider Services
    {
        get
        {
            if (SkipReason is not null)
            {
                Assert.Skip(SkipReason);
            }

            return services ?? throw new InvalidOperationException("The fixture is not initialized.");
        }
    }

    /// <summary>Starts or reaches the database; returns its <c>Storage</c> settings, or no settings and the reason the tests must be skipped.</summary>
    protected abstract ValueTask<(IReadOnlyDictionary<string, string?>? Settings, string? SkipReason)> StartDatabaseAsync();

    protected virtual ValueTask StopDatabaseAsync() => ValueTask.CompletedTask;

    /// <summary>Registers this provider's stores, as the node's composition root does.</summary>
    protected abstract IServiceCollection AddProvider(IServiceCollection services, IConfiguration configuration);

    public async ValueTask InitializeAsync()
    {
        var (settings, skipReason) = await StartDatabaseAsync();
        if (settings is null)
        {
            SkipReason = skipReason ?? "the database is not available";
            return;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        services = AddProvider(new ServiceCollection().AddLogging(), configuration).BuildServiceProvider(validateScopes: true);
        await services.GetRequiredService<IStorageInitializer>().InitializeAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (services is not null)
        {
            await services.DisposeAsync();
        }

        await StopDatabaseAsync();
        GC.SuppressFinalize(this);
    }
}
