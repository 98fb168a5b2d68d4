using Microsoft.Extensions.Time.Testing;
using TaskServer.Failover.Sweeping;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Failover.Tests.Sweeping;

public sealed class MassSilenceGuardTests
{
    private static readonly TimeSpan WorkerTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan HoldOff = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider clock = new();
    private readonly MassSilenceGuard guard;

    public MassSilenceGuardTests() => guard = new MassSilenceGuard(clock);

    [Fact]
    public void Half_of_the_workers_silent_is_believed_at_once()
    {
        var verdict = guard.Judge([Worker("w1", silent: true), Worker("w2", silent: false)], WorkerTimeout, HoldOff);

        Assert.Equal(TimeSpan.Zero, verdict.HoldOff);
        Assert.False(verdict.MostSilent);
    }

    [Fact]
    public void More_than_half_silent_holds_the_rescue_until_the_hold_off_has_passed_since_it_was_first_seen()
    {
        NodeRecord[] nodes = [Worker("w1", silent: true), Worker("w2", silent: true), Worker("w3", silent: false)];

        Assert.Equal(HoldOff, guard.Judge(nodes, WorkerTimeout, HoldOff).HoldOff);
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(TimeSpan.FromSeconds(6), guard.Judge(nodes, WorkerTimeout, HoldOff).HoldOff);
        clock.Advance(TimeSpan.FromSeconds(6));
        var outlasted = guard.Judge(nodes, WorkerTimeout, HoldOff);

        Assert.Equal(TimeSpan.Zero, outlasted.HoldOff);
        Assert.True(outlasted.MostSilent);
        Assert.Equal((3, 2), (outlasted.Workers, outlasted.Silent));
    }

    [Fact]
    public void Workers_silent_for_longer_than_the_timeout_plus_the_hold_off_are_dead_and_do_not_make_a_mass_silence()
    {
        var longDead = Enumerable.Range(0, 10)
            .Select(i => new NodeRecord($"old-{i}", NodeRole.Standalone, "http://old", default, default, WorkerTimeout + HoldOff + TimeSpan.FromSeconds(i + 1)));
        NodeRecord[] nodes = [.. longDead, Worker("w1", silent: false), Worker("w2", silent: false), Worker("w3", silent: true)];

        var verdict = guard.Judge(nodes, WorkerTimeout, HoldOff);

        Assert.Equal(TimeSpan.Zero, verdict.HoldOff);
        Assert.Equal((3, 1), (verdict.Workers, verdict.Silent));
    }

    [Fact]
    public void A_silence_that_ended_starts_its_hold_off_afresh_when_it_comes_again()
    {
        NodeRecord[] silent = [Worker("w1", silent: true), Worker("w2", silent: true)];
        guard.Judge(silent, WorkerTimeout, HoldOff);
        clock.Advance(TimeSpan.FromSeconds(9));

        guard.Judge([Worker("w1", silent: false), Worker("w2", silent: false)], WorkerTimeout, HoldOff);
        clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(HoldOff, guard.Judge(silent, WorkerTimeout, HoldOff).HoldOff);
    }

    [Fact]
    public void A_lone_worker_gateways_and_a_zero_hold_off_never_hold()
    {
        var gateway = new NodeRecord("alpha", NodeRole.Gateway, "http://alpha", default, default, TimeSpan.FromMinutes(1));

        Assert.Equal(TimeSpan.Zero, guard.Judge([Worker("w1", silent: true), gateway], WorkerTimeout, HoldOff).HoldOff);
        Assert.Equal(TimeSpan.Zero, guard.Judge([Worker("w1", silent: true), Worker("w2", silent: true)], WorkerTimeout, TimeSpan.Zero).HoldOff);
    }

    [Fact]
    public void A_standalone_node_counts_as_a_worker()
    {
        var standalone = new NodeRecord("solo", NodeRole.Standalone, "http://solo", default, default, WorkerTimeout + TimeSpan.FromSeconds(1));

        Assert.Equal(HoldOff, guard.Judge([standalone, Worker("w1", silent: true)], WorkerTimeout, HoldOff).HoldOff);
    }

    private static NodeRecord Worker(string id, bool silent) =>
        new(id, NodeRole.Worker, $"http://{id}", default, default, silent ? WorkerTimeout + TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1));
}
