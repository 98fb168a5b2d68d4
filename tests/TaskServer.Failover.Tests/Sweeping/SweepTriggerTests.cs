using Microsoft.Extensions.Time.Testing;
using TaskServer.Failover.Sweeping;

namespace TaskServer.Failover.Tests.Sweeping;

public sealed class SweepTriggerTests
{
    // Never advanced in the tests about firing: only a trigger can end the wait.
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    // Real time, and only spent when a test is about to fail.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider clock = new();
    private readonly SweepTrigger trigger = new();

    [Fact]
    public void A_trigger_fired_before_the_wait_ends_it_at_once()
    {
        trigger.Fire();

        var wait = trigger.WaitAsync(Period, clock, TestContext.Current.CancellationToken);

        Assert.True(wait.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_trigger_fired_during_the_wait_ends_it_before_the_period()
    {
        var wait = trigger.WaitAsync(Period, clock, TestContext.Current.CancellationToken);
        Assert.False(wait.IsCompleted);

        trigger.Fire();

        await wait.WaitAsync(Guard, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Without_a_trigger_the_wait_ends_when_the_period_has_passed()
    {
        var period = TimeSpan.FromSeconds(1);
        var wait = trigger.WaitAsync(period, clock, TestContext.Current.CancellationToken);

        clock.Advance(period - TimeSpan.FromMilliseconds(1));
        Assert.False(wait.IsCompleted);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        await wait.WaitAsync(Guard, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Several_triggers_before_a_wait_wake_it_only_once()
    {
        trigger.Fire();
        trigger.Fire();
        trigger.Fire();
        await trigger.WaitAsync(Period, clock, TestContext.Current.CancellationToken);

        var second = trigger.WaitAsync(Period, clock, TestContext.Current.CancellationToken);

        Assert.False(second.IsCompleted);
        clock.Advance(Period);
        await second.WaitAsync(Guard, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Cancelling_the_token_ends_the_wait_with_OperationCanceledException()
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var wait = trigger.WaitAsync(Period, clock, stopping.Token);

        await stopping.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Guard, TestContext.Current.CancellationToken));
    }
}
