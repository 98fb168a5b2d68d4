using TaskServer.Host.Telemetry;

namespace TaskServer.Host.Tests.Telemetry;

public sealed class TelemetryOptionsValidatorTests
{
    private readonly TelemetryOptionsValidator validator = new();

    [Theory]
    [InlineData("")]
    [InlineData("http://127.0.0.1:4317")]
    [InlineData("https://collector.example/v1/traces")]
    public void No_endpoint_or_an_http_one_is_valid(string endpoint) =>
        Assert.True(validator.Validate(null, new TelemetryOptions { OtlpEndpoint = endpoint }).Succeeded);

    [Theory]
    [InlineData("collector:4317")]
    [InlineData("ftp://collector/")]
    [InlineData("/v1/traces")]
    public void Anything_else_is_refused_with_the_setting_named(string endpoint)
    {
        var result = validator.Validate(null, new TelemetryOptions { OtlpEndpoint = endpoint });

        Assert.True(result.Failed);
        Assert.Contains("Telemetry:OtlpEndpoint", result.FailureMessage, StringComparison.Ordinal);
    }
}
