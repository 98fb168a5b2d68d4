using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.StorageManager.PostgreSql;
using TaskServer.StorageManager.Tests.Contract;
using TaskServer.Testing;

namespace TaskServer.StorageManager.Tests.PostgreSql;

/// <summary>A throwaway database on a real PostgreSQL server (see <see cref="PostgresDatabase"/>).</summary>
public sealed class PostgreSqlFixture : StorageFixture
{
    private PostgresDatabase? database;

    public string ConnectionString => database!.ConnectionString;

    protected override IServiceCollection AddProvider(IServiceCollection services, IConfiguration configuration) => services.AddPostgreSqlTaskStorage(configuration);

    protected override async ValueTask<(IReadOnlyDictionary<string, string?>? Settings, string? SkipReason)> StartDatabaseAsync()
    {
        database = await PostgresDatabase.CreateAsync();
        return (new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = database.ConnectionString,
        }, null);
    }

    protected override async ValueTask StopDatabaseAsync()
    {
        if (database is not null)
        {
            await database.DisposeAsync();
        }
    }
}
