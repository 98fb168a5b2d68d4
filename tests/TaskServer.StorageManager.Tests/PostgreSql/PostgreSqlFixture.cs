using Npgsql;
using TaskServer.StorageManager.Tests.Contract;

namespace TaskServer.StorageManager.Tests.PostgreSql;

/// <summary>
/// A throwaway database on a real PostgreSQL server: <c>TASKSERVER_TEST_PG</c> names the server
/// (a connection string whose user may create databases); scripts/test.sh starts one when it is unset.
/// PostgreSQL is required here, so an unreachable server fails the tests rather than skipping them.
/// </summary>
public sealed class PostgreSqlFixture : StorageFixture
{
    private const string DefaultServer = "Host=127.0.0.1;Port=5432;Username=taskserver;Database=postgres";

    private readonly string serverConnectionString = Environment.GetEnvironmentVariable("TASKSERVER_TEST_PG") ?? DefaultServer;
    private readonly string database = $"taskserver_test_{Guid.NewGuid():N}";

    protected override async ValueTask<(IReadOnlyDictionary<string, string?>? Settings, string? SkipReason)> StartDatabaseAsync()
    {
        await ExecuteOnServerAsync($"CREATE DATABASE {database}");
        var connectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = database }.ConnectionString;
        return (new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = connectionString,
        }, null);
    }

    protected override async ValueTask StopDatabaseAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    }

    private async Task ExecuteOnServerAsync(string sql)
    {
        try
        {
            await using var connection = new NpgsqlConnection(serverConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException(
                $"PostgreSQL is required for these tests and was not reachable ({e.Message}). Run .ci/run, or set TASKSERVER_TEST_PG to a server connection string.", e);
        }
    }
}
