using Microsoft.Extensions.Options;

namespace TaskServer.Failover.Tests;

public sealed class FailoverOptionsValidatorTests
{
    private readonly FailoverOptionsValidator validator = new();

    [Fact]
    public void The_defaults_are_valid()
    {
        var result = validator.Validate(Options.DefaultName, new FailoverOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void A_renew_interval_of_exactly_half_the_lease_is_valid()
    {
        var options = new FailoverOptions { LeaseTtl = TimeSpan.FromSeconds(2), RenewInterval = TimeSpan.FromSeconds(1) };

        Assert.True(validator.Validate(Options.DefaultName, options).Succeeded);
    }

    [Fact]
    public void A_renew_interval_over_half_the_lease_is_refused_naming_both_settings()
    {
        var options = new FailoverOptions { LeaseTtl = TimeSpan.FromSeconds(2), RenewInterval = TimeSpan.FromMilliseconds(1001) };

        var result = validator.Validate(Options.DefaultName, options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains("Failover:RenewInterval", failure, StringComparison.Ordinal);
        Assert.Contains("Failover:LeaseTtl", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void A_failure_threshold_out_of_range_is_refused(int threshold)
    {
        var result = validator.Validate(Options.DefaultName, new FailoverOptions { FailureThreshold = threshold });

        Assert.True(result.Failed);
        Assert.Contains("Failover:FailureThreshold", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_lease_name_is_refused()
    {
        var result = validator.Validate(Options.DefaultName, new FailoverOptions { LeaseName = " " });

        Assert.Contains("Failover:LeaseName", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(FailoverOptions.ProbeInterval), 9)]
    [InlineData(nameof(FailoverOptions.ProbeInterval), 60_001)]
    [InlineData(nameof(FailoverOptions.ProbeTimeout), 9)]
    [InlineData(nameof(FailoverOptions.ProbeTimeout), 60_001)]
    [InlineData(nameof(FailoverOptions.LeaseReadInterval), 9)]
    [InlineData(nameof(FailoverOptions.LeaseReadInterval), 60_001)]
    [InlineData(nameof(FailoverOptions.LeaseTtl), 99)]
    [InlineData(nameof(FailoverOptions.LeaseTtl), 300_001)]
    [InlineData(nameof(FailoverOptions.RenewInterval), 9)]
    [InlineData(nameof(FailoverOptions.RenewInterval), 60_001)]
    [InlineData(nameof(FailoverOptions.SweepInterval), 99)]
    [InlineData(nameof(FailoverOptions.SweepInterval), 600_001)]
    [InlineData(nameof(FailoverOptions.MassSilenceHoldOff), -1)]
    [InlineData(nameof(FailoverOptions.MassSilenceHoldOff), 600_001)]
    public void An_interval_out_of_range_is_refused_with_its_name(string setting, int milliseconds)
    {
        var options = new FailoverOptions();
        typeof(FailoverOptions).GetProperty(setting)!.SetValue(options, TimeSpan.FromMilliseconds(milliseconds));

        var result = validator.Validate(Options.DefaultName, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith($"Failover:{setting} must be between", StringComparison.Ordinal));
    }
}
