using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using TaskServer.Host.Auth;

namespace TaskServer.Host.Tests.Auth;

public sealed class AuthOptionsValidatorTests
{
    private const string SixteenCharacters = "0123456789abcdef";

    private readonly AuthOptionsValidator validator = new(new HostingEnvironment { EnvironmentName = Environments.Production });

    [Fact]
    public void A_demo_key_is_refused_outside_development()
    {
        var result = validator.Validate(null, Options([SixteenCharacters], ["demo-admin-key-change-me-01"]));

        Assert.True(result.Failed);
        Assert.Contains("demo values are refused outside Development", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_demo_key_is_accepted_in_development()
    {
        var development = new AuthOptionsValidator(new HostingEnvironment { EnvironmentName = Environments.Development });

        Assert.True(development.Validate(null, Options([SixteenCharacters], ["demo-admin-key-change-me-01"])).Succeeded);
    }

    [Fact]
    public void A_key_in_two_roles_is_refused()
    {
        var result = validator.Validate(null, Options([SixteenCharacters], [SixteenCharacters]));

        Assert.True(result.Failed);
        Assert.Contains("role would be ambiguous", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void One_client_key_and_one_admin_key_of_16_characters_are_valid() =>
        Assert.True(validator.Validate(null, Options([SixteenCharacters], ["admin-" + SixteenCharacters])).Succeeded);

    [Fact]
    public void No_client_keys_is_refused_naming_the_setting()
    {
        var result = validator.Validate(null, Options([], [SixteenCharacters]));

        Assert.True(result.Failed);
        Assert.Contains("Auth:ApiKeys needs at least one key", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void No_admin_keys_is_refused_naming_the_setting()
    {
        var result = validator.Validate(null, Options([SixteenCharacters], []));

        Assert.True(result.Failed);
        Assert.Contains("Auth:AdminKeys needs at least one key", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("short-api-key15", SixteenCharacters)]
    [InlineData(SixteenCharacters, "short-adminkey1")]
    public void A_key_shorter_than_16_characters_is_refused(string apiKey, string adminKey)
    {
        var result = validator.Validate(null, Options([SixteenCharacters, apiKey], [adminKey]));

        Assert.True(result.Failed);
        Assert.Contains("at least 16 characters", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_failure_is_reported_at_once()
    {
        var result = validator.Validate(null, Options([], []));

        Assert.Equal(2, result.Failures!.Count());
    }

    private static AuthOptions Options(string[] apiKeys, string[] adminKeys)
    {
        var options = new AuthOptions();
        foreach (var key in apiKeys)
        {
            options.ApiKeys.Add(key);
        }

        foreach (var key in adminKeys)
        {
            options.AdminKeys.Add(key);
        }

        return options;
    }
}
