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

    [Fact]
    public void Repeated_statements_are_prepared_unless_the_operator_chose_otherwise()
    {
        var chosen = new StorageOptions { ConnectionString = "Host=db;Max Auto Prepare=5;Auto Prepare Min Usages=9" };
        var unset = new StorageOptions { ConnectionString = "Host=db" };

        var operatorChoice = new NpgsqlConnectionStringBuilder(PostgreSqlStorageServiceCollectionExtensions.PooledConnectionString(chosen, "taskserver"));
        var ours = new NpgsqlConnectionStringBuilder(PostgreSqlStorageServiceCollectionExtensions.PooledConnectionString(unset, "taskserver"));

        Assert.Equal((5, 9), (operatorChoice.MaxAutoPrepare, operatorChoice.AutoPrepareMinUsages));
        Assert.True(ours.MaxAutoPrepare > 0);
        Assert.Equal(2, ours.AutoPrepareMinUsages);
    }
}
