using Npgsql;
using TaskServer.StorageManager.PostgreSql;

namespace TaskServer.StorageManager.Tests.PostgreSql;

public sealed class PooledConnectionStringTests
{
    [Fact]
    public void Each_pool_is_bounded_named_and_not_reset_on_every_reuse()
    {
        var options = new StorageOptions { ConnectionString = "Host=db;Username=u;Maximum Pool Size=500", MaxPoolSize = 12 };

        var tasks = new NpgsqlConnectionStringBuilder(PostgreSqlStorageServiceCollectionExtensions.PooledConnectionString(options, "taskserver"));
        var hangfire = new NpgsqlConnectionStringBuilder(PostgreSqlStorageServiceCollectionExtensions.PooledConnectionString(options, "taskserver-hangfire"));

        Assert.Equal(12, tasks.MaxPoolSize);
        Assert.Equal(12, hangfire.MaxPoolSize);
        Assert.True(tasks.NoResetOnClose);
        Assert.Equal("taskserver", tasks.ApplicationName);
        Assert.Equal("taskserver-hangfire", hangfire.ApplicationName);
        Assert.Equal("db", hangfire.Host);
    }

    [Fact]
    public void An_application_name_the_operator_chose_is_kept()
    {
        var options = new StorageOptions { ConnectionString = "Host=db;Application Name=billing" };

        var pooled = new NpgsqlConnectionStringBuilder(PostgreSqlStorageServiceCollectionExtensions.PooledConnectionString(options, "taskserver"));

        Assert.Equal("billing", pooled.ApplicationName);
    }
}
