using TaskServer.Failover.Tests.Fakes;
using TaskServer.Health;
using TaskServer.StorageManager.Leases;

namespace TaskServer.Failover.Tests.Leadership;

/// <summary>The agent's decisions, one tick at a time, on a fake clock: no database, no HTTP, no sleeping.</summary>
public sealed class FailoverAgentTests : IDisposable
{
    private const int Suspected = 400;
    private const int SteppedDown = 402;
    private const int Lapsed = 405;
    private const int OwnHealthSlow = 406;
    private const string A = "http://a:5000";

    private static readonly Uri ProbeOfA = new("http://a:5000/health/primary");

    private readonly AgentHarness h = new();

    public void Dispose() => h.Dispose();

    [Fact]
    public async Task A_backup_takes_a_free_lease_at_once_and_records_the_failover()
    {
        await h.TickAsync();

        Assert.Equal([AgentHarness.Me], h.Store.Acquisitions);
        Assert.Equal(new Fence("gateway-primary", AgentHarness.Me, 1), h.Leadership.CurrentFence);
        Assert.Empty(h.Primary.Requests);
        var failover = Assert.Single(h.Log.Events);
        Assert.Equal("gateway-primary", failover.LeaseName);
        Assert.Null(failover.OldHolder);
        Assert.Equal(AgentHarness.Me, failover.NewHolder);
        Assert.Equal(1, failover.Epoch);
        Assert.Null(failover.LastContactAt);
        Assert.Null(failover.SuspectedAt);
        Assert.Equal(h.Clock.GetUtcNow(), failover.PromotedAt);
        Assert.True(h.SweepWasTriggered);
    }

    [Fact]
    public async Task A_backup_takes_an_expired_lease_at_once_without_probing_its_holder()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromSeconds(1));
        h.Clock.Advance(TimeSpan.FromSeconds(1));

        await h.TickAsync();

        Assert.Empty(h.Primary.Requests);
        Assert.Equal(new Fence("gateway-primary", AgentHarness.Me, 5), h.Leadership.CurrentFence);
        var failover = Assert.Single(h.Log.Events);
        Assert.Equal("a", failover.OldHolder);
        Assert.Equal(5, failover.Epoch);
        Assert.Equal(h.Clock.GetUtcNow(), failover.SuspectedAt);
    }

    [Fact]
    public async Task A_lease_that_expires_before_FailureThreshold_probes_have_failed_still_dates_the_suspicion_and_the_last_contact()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromSeconds(2));
        var lastContactAt = h.Clock.GetUtcNow();
        await h.TicksAsync(1);

        // a is killed; on a saturated machine this backup's ticks run late, and a's lease runs out after one failed probe.
        h.Primary.Next = StubPrimary.Answer.Unreachable;
        await h.TicksAsync(1);
        h.Clock.Advance(TimeSpan.FromSeconds(2));
        var expirySeenAt = h.Clock.GetUtcNow();
        await h.TickAsync();

        var failover = Assert.Single(h.Log.Events);
        Assert.Equal("a", failover.OldHolder);
        Assert.Equal(lastContactAt, failover.LastContactAt);
        Assert.Equal(expirySeenAt, failover.SuspectedAt);
        Assert.Equal(expirySeenAt, failover.PromotedAt);
        Assert.True(h.Logged(Suspected));
    }

    [Fact]
    public async Task A_backup_whose_primary_answers_its_probes_never_tries_to_take_the_lease()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromMinutes(1));

        await h.TicksAsync(h.Settings.FailureThreshold + 2);

        Assert.Empty(h.Store.Acquisitions);
        Assert.Equal(Enumerable.Repeat(ProbeOfA, h.Settings.FailureThreshold + 2), h.Primary.Requests);
        Assert.Equal(new PrimaryView(false, 4, "a", A), h.Leadership.Current);
        Assert.Empty(h.Log.Events);
        Assert.False(h.SweepWasTriggered);
    }

    [Fact]
    public async Task A_backup_tries_to_take_the_lease_only_after_FailureThreshold_failed_probes_in_a_row()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromMinutes(1));

        h.Primary.Next = StubPrimary.Answer.NotReady;
        await h.TicksAsync(h.Settings.FailureThreshold - 1);
        h.Primary.Next = StubPrimary.Answer.Ready;
        await h.TicksAsync(1);
        h.Primary.Next = StubPrimary.Answer.Unreachable;
        await h.TicksAsync(h.Settings.FailureThreshold - 1);

        Assert.Empty(h.Store.Acquisitions);
        Assert.False(h.Logged(Suspected));

        await h.TicksAsync(1);

        Assert.Equal([AgentHarness.Me], h.Store.Acquisitions);
        Assert.True(h.Logged(Suspected));
    }

    [Fact]
    public async Task A_suspected_primary_is_challenged_every_tick_until_the_store_grants_the_lease_and_the_failover_records_the_timeline()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromMinutes(1));
        var lastContactAt = h.Clock.GetUtcNow();
        await h.TicksAsync(1);

        h.Primary.Next = StubPrimary.Answer.NotReady;
        await h.TicksAsync(h.Settings.FailureThreshold - 1);
        var suspectedAt = h.Clock.GetUtcNow();
        await h.TicksAsync(1);
        await h.TicksAsync(1);

        Assert.Equal(2, h.Store.Acquisitions.Count);
        Assert.Null(h.Leadership.CurrentFence);
        Assert.Empty(h.Log.Events);

        h.Store.HolderSessionGone = true;
        var promotedAt = h.Clock.GetUtcNow();
        await h.TickAsync();

        Assert.Equal(3, h.Store.Acquisitions.Count);
        Assert.Equal(new Fence("gateway-primary", AgentHarness.Me, 5), h.Leadership.CurrentFence);
        var failover = Assert.Single(h.Log.Events);
        Assert.Equal("a", failover.OldHolder);
        Assert.Equal(AgentHarness.Me, failover.NewHolder);
        Assert.Equal(5, failover.Epoch);
        Assert.Equal(lastContactAt, failover.LastContactAt);
        Assert.Equal(suspectedAt, failover.SuspectedAt);
        Assert.Equal(promotedAt, failover.PromotedAt);
        Assert.True(failover.LastContactAt <= failover.SuspectedAt && failover.SuspectedAt <= failover.PromotedAt);
        Assert.True(h.SweepWasTriggered);
    }

    [Fact]
    public async Task A_live_primary_that_gives_no_answer_on_a_busy_machine_is_never_suspected_while_it_renews_its_lease()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromSeconds(2));
        h.Primary.Next = StubPrimary.Answer.Silent;

        for (var renewal = 0; renewal < 10; renewal++)
        {
            await h.TicksAsync(2);
            h.Store.Grant("a", A, epoch: 4, TimeSpan.FromSeconds(2));
        }

        Assert.Equal(20, h.Primary.Requests.Count);
        Assert.False(h.Logged(Suspected));
        Assert.Empty(h.Store.Acquisitions);
        Assert.Empty(h.Log.Events);
    }

    [Fact]
    public async Task A_silent_primary_that_stops_renewing_is_suspected_when_its_lease_expires_and_replaced()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromSeconds(2));
        var lastContactAt = h.Clock.GetUtcNow();
        await h.TicksAsync(1);

        // Paused (SIGSTOP): it accepts connections and answers nothing, and renews nothing.
        h.Primary.Next = StubPrimary.Answer.Silent;
        await h.TicksAsync(7);

        Assert.False(h.Logged(Suspected));
        Assert.Empty(h.Store.Acquisitions);

        var expirySeenAt = h.Clock.GetUtcNow();
        await h.TicksAsync(1);

        Assert.Equal(new Fence("gateway-primary", AgentHarness.Me, 5), h.Leadership.CurrentFence);
        var failover = Assert.Single(h.Log.Events);
        Assert.Equal(lastContactAt, failover.LastContactAt);
        Assert.Equal(expirySeenAt, failover.SuspectedAt);
    }

    [Fact]
    public async Task A_probe_without_an_answer_neither_counts_against_the_primary_nor_clears_the_refusals_before_it()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromMinutes(1));

        h.Primary.Next = StubPrimary.Answer.Unreachable;
        await h.TicksAsync(h.Settings.FailureThreshold - 1);
        h.Primary.Next = StubPrimary.Answer.Silent;
        await h.TicksAsync(3);

        Assert.False(h.Logged(Suspected));

        h.Primary.Next = StubPrimary.Answer.Unreachable;
        await h.TicksAsync(1);

        Assert.True(h.Logged(Suspected));
        Assert.Equal([AgentHarness.Me], h.Store.Acquisitions);
    }

    [Fact]
    public async Task A_crashed_primary_is_suspected_within_a_second_with_the_defaults_and_replaced_as_soon_as_its_session_is_gone()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromSeconds(2));
        await h.TicksAsync(1);
        var killedAt = h.Clock.GetUtcNow();

        h.Primary.Next = StubPrimary.Answer.Unreachable;
        h.Store.HolderSessionGone = true;
        await h.TicksAsync(h.Settings.FailureThreshold);

        var failover = Assert.Single(h.Log.Events);
        Assert.True(failover.SuspectedAt - killedAt < TimeSpan.FromSeconds(1), $"suspected {failover.SuspectedAt - killedAt} after the kill");
        Assert.Equal(failover.SuspectedAt, failover.PromotedAt);
        Assert.Equal(new Fence("gateway-primary", AgentHarness.Me, 5), h.Leadership.CurrentFence);
    }

    [Fact]
    public async Task A_backup_whose_primary_answers_reads_the_lease_once_per_LeaseReadInterval_not_every_tick()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromMinutes(1));

        await h.TicksAsync(20);

        // 5 s of ticks every 250 ms: reads at 0, 1, 2, 3 and 4 s.
        Assert.Equal(20, h.Primary.Requests.Count);
        Assert.Equal(5, h.Store.Reads);
    }

    [Fact]
    public async Task A_backup_reads_the_lease_on_the_tick_after_a_probe_that_did_not_find_the_primary()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromMinutes(1));
        await h.TicksAsync(1);

        h.Primary.Next = StubPrimary.Answer.Silent;
        await h.TicksAsync(2);
        h.Primary.Next = StubPrimary.Answer.Unreachable;
        await h.TicksAsync(1);
        Assert.Equal(3, h.Store.Reads);

        // Another backup took over meanwhile; the next tick learns it and probes the new primary.
        h.Store.Grant("c", "http://c:5000", epoch: 5, TimeSpan.FromMinutes(1));
        h.Primary.Next = StubPrimary.Answer.Ready;
        await h.TicksAsync(1);

        Assert.Equal(4, h.Store.Reads);
        Assert.Equal(new Uri("http://c:5000/health/primary"), h.Primary.Requests[^1]);
        Assert.Equal(new PrimaryView(false, 5, "c", "http://c:5000"), h.Leadership.Current);
    }

    [Fact]
    public async Task A_backup_reads_the_lease_as_soon_as_the_lease_it_last_read_may_have_expired()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromMilliseconds(600));
        await h.TicksAsync(3);

        // Read at 0 ms (600 ms left), not at 250 or 500 ms; at 750 ms the lease may have run out, and it has.
        Assert.Equal(1, h.Store.Reads);
        Assert.Empty(h.Store.Acquisitions);

        await h.TicksAsync(1);

        Assert.Equal(2, h.Store.Reads);
        Assert.Equal(new Fence("gateway-primary", AgentHarness.Me, 5), h.Leadership.CurrentFence);
    }

    [Fact]
    public async Task A_renewal_seen_in_the_lease_is_contact_with_a_primary_that_gives_no_answer()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromSeconds(2));
        h.Primary.Next = StubPrimary.Answer.Silent;
        await h.TicksAsync(1);
        var readBeforeRenewal = h.Clock.GetUtcNow();
        await h.TicksAsync(1);

        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromSeconds(2));
        await h.TicksAsync(1);

        // Then a crashes.
        h.Primary.Next = StubPrimary.Answer.Unreachable;
        h.Store.HolderSessionGone = true;
        await h.TicksAsync(h.Settings.FailureThreshold);

        var failover = Assert.Single(h.Log.Events);
        Assert.Equal(readBeforeRenewal, failover.LastContactAt);
        Assert.NotNull(failover.SuspectedAt);
    }

    [Fact]
    public async Task A_primary_renews_only_every_RenewInterval_and_so_stays_primary()
    {
        await h.TickAsync();
        var fence = h.Leadership.CurrentFence;

        var renewalsSeen = new List<int>();
        for (var i = 0; i < 10; i++)
        {
            h.Clock.Advance(h.Settings.ProbeInterval);
            await h.TickAsync();
            renewalsSeen.Add(h.Store.Renewals.Count);
        }

        // Ticks every 250 ms, renewals every 500 ms; 2.5 s is past the first lease's 2 s.
        Assert.Equal([0, 1, 1, 2, 2, 3, 3, 4, 4, 5], renewalsSeen);
        Assert.All(h.Store.Renewals, renewed => Assert.Equal(fence, renewed));
        Assert.Equal(fence, h.Leadership.CurrentFence);
    }

    [Fact]
    public async Task A_primary_whose_own_components_are_healthy_keeps_renewing_when_other_readiness_checks_fail()
    {
        await h.TickAsync();
        h.SomeWorkerHealthy = false;

        h.Clock.Advance(h.Settings.RenewInterval);
        await h.TickAsync();

        Assert.Single(h.Store.Renewals);
        Assert.NotNull(h.Leadership.CurrentFence);
    }

    [Fact]
    public async Task A_primary_whose_own_checks_hang_renews_once_RenewInterval_has_passed_rather_than_lose_the_lease()
    {
        await h.TickAsync();
        var fence = h.Leadership.CurrentFence;
        h.OwnComponentsHang = true;

        h.Clock.Advance(h.Settings.RenewInterval);
        var tick = h.TickAsync();

        // Renewed before the checks answer; the tick ends when they give up, and the node stays primary.
        Assert.Equal([fence!.Value], h.Store.Renewals);
        Assert.False(tick.IsCompleted);
        h.Clock.Advance(h.Settings.RenewInterval);
        await tick.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal(fence, h.Leadership.CurrentFence);
        Assert.True(h.Logged(OwnHealthSlow));
    }

    [Fact]
    public async Task A_primary_steps_down_when_its_renewal_is_refused()
    {
        await h.TickAsync();
        h.Store.RefuseRenewals = true;

        h.Clock.Advance(h.Settings.RenewInterval);
        await h.TickAsync();

        Assert.Single(h.Store.Renewals);
        Assert.Null(h.Leadership.CurrentFence);
        Assert.Equal(new PrimaryView(false, null, null, null), h.Leadership.Current);
        Assert.True(h.Logged(SteppedDown));
    }

    [Fact]
    public async Task A_primary_whose_own_components_are_unhealthy_steps_down_and_releases_the_lease()
    {
        await h.TickAsync();
        var fence = h.Leadership.CurrentFence!.Value;
        h.OwnComponentsHealthy = false;

        h.Clock.Advance(h.Settings.RenewInterval);
        await h.TickAsync();

        // The renewal ran alongside the checks; their verdict releases the lease in the same tick.
        Assert.Single(h.Store.Renewals);
        Assert.Null(h.Leadership.CurrentFence);
        Assert.Equal([fence], h.Store.Releases);
        Assert.True(h.Store.Lease!.ExpiresAt <= h.Store.Now);
        Assert.True(h.Logged(SteppedDown));
    }

    [Fact]
    public async Task A_primary_whose_tenure_lapsed_without_ticks_logs_it_and_acts_as_a_backup()
    {
        await h.TickAsync();

        // Paused past its lease; meanwhile b took over.
        h.Clock.Advance(h.Settings.LeaseTtl + TimeSpan.FromMilliseconds(500));
        h.Store.Grant("b", "http://b:5000", epoch: 2, TimeSpan.FromMinutes(1));
        await h.TickAsync();

        Assert.True(h.Logged(Lapsed));
        Assert.Empty(h.Store.Renewals);
        Assert.Equal([new Uri("http://b:5000/health/primary")], h.Primary.Requests);
        Assert.Equal(new PrimaryView(false, 2, "b", "http://b:5000"), h.Leadership.Current);
    }

    [Fact]
    public async Task A_primary_whose_tenure_lapsed_takes_the_still_free_lease_back_under_a_new_epoch()
    {
        await h.TickAsync();

        h.Clock.Advance(h.Settings.LeaseTtl + TimeSpan.FromMilliseconds(500));
        await h.TickAsync();

        Assert.True(h.Logged(Lapsed));
        Assert.Empty(h.Store.Renewals);
        Assert.Equal(new Fence("gateway-primary", AgentHarness.Me, 2), h.Leadership.CurrentFence);
        Assert.Equal(2, h.Log.Events.Count);
        Assert.Equal(AgentHarness.Me, h.Log.Events[1].OldHolder);
    }

    [Fact]
    public async Task A_node_that_stepped_down_for_its_own_health_does_not_take_the_lease_back_while_still_unhealthy()
    {
        await h.TickAsync();
        h.OwnComponentsHealthy = false;
        h.Clock.Advance(h.Settings.RenewInterval);
        await h.TickAsync();

        await h.TicksAsync(4);

        Assert.Single(h.Store.Acquisitions);
        Assert.Null(h.Leadership.CurrentFence);
    }

    [Fact]
    public async Task A_new_primary_is_suspected_only_after_its_own_FailureThreshold_failed_probes()
    {
        h.Store.Grant("a", A, epoch: 4, TimeSpan.FromMinutes(1));
        h.Primary.Next = StubPrimary.Answer.Unreachable;
        await h.TicksAsync(h.Settings.FailureThreshold);
        Assert.Single(h.Store.Acquisitions);

        // Another backup won the race for a's lease; its first probe fails.
        h.Store.Grant("c", "http://c:5000", epoch: 5, TimeSpan.FromMinutes(1));
        await h.TicksAsync(1);

        Assert.Single(h.Store.Acquisitions);
    }
}
