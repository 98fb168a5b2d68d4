
namespace TaskServer.Host.Tests.Execution;

public sealed class RetryDelayTests
{
    /// <summary>Jitter 0.5 is the middle of the ±20% band, where the delay is exactly the nominal one.</summary>
    private const double NoJitter = 0.5;

    private readonly ExecutionOptions options = new() { RetryBaseDelay = TimeSpan.FromSeconds(1), RetryMaxDelay = TimeSpan.FromSeconds(10) };

    [Theory]
    [InlineData(2, 1_000)]
    [InlineData(3, 2_000)]
    [InlineData(4, 4_000)]
    [InlineData(5, 8_000)]
    public void The_delay_starts_at_the_base_and_doubles_with_each_attempt(int nextAttempt, double milliseconds) =>
        AssertMilliseconds(milliseconds, options.RetryDelay(nextAttempt, NoJitter));

    [Theory]
    [InlineData(6)]
    [InlineData(40)]
    [InlineData(int.MaxValue)]
    public void The_nominal_delay_stops_growing_at_the_maximum(int nextAttempt) =>
        AssertMilliseconds(10_000, options.RetryDelay(nextAttempt, NoJitter));

    [Theory]
    [InlineData(2, 0.0, 800)]
    [InlineData(2, 1.0, 1_200)]
    [InlineData(4, 0.0, 3_200)]
    [InlineData(4, 1.0, 4_800)]
    [InlineData(9, 0.0, 8_000)]
    [InlineData(9, 1.0, 12_000)]
    public void Jitter_spreads_the_delay_from_80_to_120_percent_of_the_nominal(int nextAttempt, double jitter, double milliseconds) =>
        AssertMilliseconds(milliseconds, options.RetryDelay(nextAttempt, jitter));

    private static void AssertMilliseconds(double expected, TimeSpan actual) =>
        Assert.Equal(expected, actual.TotalMilliseconds, tolerance: 0.001);
}
