using Npgsql;

namespace TaskServer.StorageManager.PostgreSql;

/// <summary>
/// Unpooled connections for lease holders' sessions. A holder's session must end when the holder lets
/// go (or when the database ends it); a pooled connection would outlive both, and a connection the
/// server terminated would be handed to the next caller.
/// </summary>
internal sealed class PostgreSqlLeaseSessions(string connectionString) : IAsyncDisposable
{
    private readonly NpgsqlDataSource dataSource = new NpgsqlDataSourceBuilder(connectionString)
    {
        ConnectionStringBuilder = { Pooling = false, ApplicationName = "taskserver-lease-holder" },
    }.Build();

    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) => dataSource.OpenConnectionAsync(cancellationToken);

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();
}
