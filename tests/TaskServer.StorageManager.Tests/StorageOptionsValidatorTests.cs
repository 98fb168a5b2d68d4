namespace TaskServer.StorageManager.Tests;

public sealed class StorageOptionsValidatorTests
{
    private readonly StorageOptionsValidator validator = new();

    [Fact]
    public void A_complete_configuration_is_valid()
    {
        var options = new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = "Host=db" };

        Assert.True(validator.Validate(null, options).Succeeded);
    }

    [Fact]
    public void A_missing_connection_string_is_named_in_the_failure()
    {
        var result = validator.Validate(null, new StorageOptions());

        Assert.True(result.Failed);
        Assert.Contains("Storage:ConnectionString", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Tasks")]
    [InlineData("tasks; drop table x")]
    [InlineData("")]
    [InlineData("1tasks")]
    public void A_schema_that_is_not_a_plain_identifier_is_refused(string schema)
    {
        var options = new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = "Host=db", Schema = schema };

        var result = validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Storage:Schema", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1001)]
    public void A_pool_size_out_of_range_is_named_in_the_failure(int size)
    {
        var options = new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = "Host=db", MaxPoolSize = size };

        var result = validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Storage:MaxPoolSize", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void An_undefined_provider_is_refused()
    {
        var result = validator.Validate(null, new StorageOptions { Provider = (StorageProvider)7, ConnectionString = "x" });

        Assert.Contains("Storage:Provider", result.FailureMessage, StringComparison.Ordinal);
    }
}
