using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TaskServer.Host.Execution;
using TaskServer.Host.Faults;
using TaskServer.Host.Quarantine;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Tests.Quarantine;

public sealed class ResultQuarantineTests
{
    private readonly FakeTimeProvider time = new();

    private ResultQuarantine Quarantine(int threshold = 3, int windowSeconds = 60) =>
        new(Options.Create(new QuarantineOptions { FailureThreshold = threshold, Window = TimeSpan.FromSeconds(windowSeconds) }), time);

    [Fact]
    public void The_threshold_th_failure_within_the_window_quarantines_the_worker()
    {
        var quarantine = Quarantine();

        Assert.False(quarantine.RecordFailure());
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.False(quarantine.RecordFailure());
        Assert.False(quarantine.IsQuarantined);
        time.Advance(TimeSpan.FromSeconds(20));

        Assert.True(quarantine.RecordFailure());
        Assert.True(quarantine.IsQuarantined);
        Assert.False(quarantine.RecordFailure());
    }

    [Fact]
    public void Failures_that_slid_out_of_the_window_do_not_count()
    {
        var quarantine = Quarantine();
        quarantine.RecordFailure();
        time.Advance(TimeSpan.FromSeconds(40));
        quarantine.RecordFailure();
        time.Advance(TimeSpan.FromSeconds(21));

        Assert.False(quarantine.RecordFailure());
        Assert.False(quarantine.IsQuarantined);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(quarantine.RecordFailure());
    }

    [Fact]
    public void Release_ends_the_quarantine_and_forgets_the_failures()
    {
        var quarantine = Quarantine(threshold: 2);
        quarantine.RecordFailure();
        quarantine.RecordFailure();

        quarantine.Release();

        Assert.False(quarantine.IsQuarantined);
        Assert.False(quarantine.RecordFailure());
        Assert.True(quarantine.RecordFailure());
    }

    [Theory]
    [InlineData(0, 60, 2000)]
    [InlineData(3, 0, 2000)]
    [InlineData(3, 60, 10)]
    public void Options_out_of_range_are_refused(int threshold, int windowSeconds, int probeMs)
    {
        var options = new QuarantineOptions
        {
            FailureThreshold = threshold,
            Window = TimeSpan.FromSeconds(windowSeconds),
            ProbeInterval = TimeSpan.FromMilliseconds(probeMs),
        };

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), null, validateAllProperties: true));
    }

    [Fact]
    public void The_defaults_are_valid()
    {
        var options = new QuarantineOptions();

        Assert.True(Validator.TryValidateObject(options, new ValidationContext(options), null, validateAllProperties: true));
    }
}

public sealed class QuarantineProbeTests
{
    [Fact]
    public async Task The_canaries_fail_while_the_incorrect_fault_is_on_and_pass_once_it_is_cleared()
    {
        var faults = new FaultState();
        var probe = new QuarantineProbe(
            new ResultQuarantine(Options.Create(new QuarantineOptions()), TimeProvider.System),
            new TaskHandlers([new EchoHandler(faults), new HashHandler(faults, Options.Create(new ExecutionOptions())), new FailHandler()]),
            Options.Create(new QuarantineOptions()),
            TimeProvider.System,
            NullLogger<QuarantineProbe>.Instance);

        faults.Set(FaultSettings.None with { Incorrect = true });
        Assert.NotNull(await probe.CheckCanariesAsync(TestContext.Current.CancellationToken));

        faults.Set(FaultSettings.None);
        Assert.Null(await probe.CheckCanariesAsync(TestContext.Current.CancellationToken));
    }
}

public sealed class RetryTargetsTests
{
    private static NodeRecord Node(string id, NodeRole role = NodeRole.Worker, int queued = 0, bool quarantined = false) =>
        new(id, role, "http://" + id, new NodeLoad(queued, 0, 4, quarantined), DateTimeOffset.UnixEpoch, TimeSpan.Zero);

    [Fact]
    public void The_retry_goes_to_the_least_loaded_other_worker_that_is_not_quarantined()
    {
        NodeRecord[] live = [Node("self"), Node("gateway", NodeRole.Gateway), Node("bad", quarantined: true), Node("busy", queued: 8), Node("idle", NodeRole.Standalone)];

        Assert.Equal("idle", RetryTargets.Choose(live, "self"));
    }

    [Fact]
    public void With_no_other_sound_worker_there_is_no_target() =>
        Assert.Null(RetryTargets.Choose([Node("self"), Node("bad", quarantined: true)], "self"));
}
