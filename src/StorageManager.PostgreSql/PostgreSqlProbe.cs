using Npgsql;

namespace TaskServer.StorageManager.PostgreSql;

internal sealed class PostgreSqlProbe(NpgsqlDataSource dataSource) : IStorageProbe
{
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT 1");
        await command.ExecuteScalarAsync(cancellationToken);
    }
}
