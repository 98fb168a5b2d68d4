using Microsoft.Extensions.Time.Testing;
using TaskServer.Failover.Leadership;
using TaskServer.Health;
using TaskServer.StorageManager.Leases;

namespace TaskServer.Failover.Tests.Leadership;

public sealed class LeadershipStateTests
{
    // The database's clock is years away from the node's on purpose: the tenure must depend only on
    // the time left that the database reported and on the node's monotonic clock.
    private static readonly DateTimeOffset DatabaseNow = new(2031, 5, 5, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);

    private readonly FakeTimeProvider clock = new();
    private readonly LeadershipState state;

    public LeadershipStateTests() => state = new LeadershipState(clock);

    [Fact]
    public void Primacy_lasts_the_lease_time_left_measured_from_when_the_renewal_was_sent()
    {
        var lease = Lease("me", "http://me:5000", epoch: 3);
        var sentAt = clock.GetTimestamp();
        clock.Advance(TimeSpan.FromMilliseconds(300)); // the round trip to the database

        state.Hold(lease, sentAt);
        clock.Advance(Ttl - TimeSpan.FromMilliseconds(300) - TimeSpan.FromTicks(1));

        Assert.Equal(lease.Fence, state.CurrentFence);
        Assert.True(state.Current.IsPrimary);

        clock.Advance(TimeSpan.FromTicks(1));

        Assert.Null(state.CurrentFence);
        Assert.False(state.Current.IsPrimary);
    }

    [Fact]
    public void A_renewal_extends_the_tenure_from_its_own_send_time()
    {
        state.Hold(Lease("me", "http://me:5000", epoch: 3), clock.GetTimestamp());
        clock.Advance(TimeSpan.FromMilliseconds(1500));

        var renewed = Lease("me", "http://me:5000", epoch: 3, serverNow: DatabaseNow.AddMilliseconds(1500));
        state.Hold(renewed, clock.GetTimestamp());
        clock.Advance(TimeSpan.FromMilliseconds(1999));

        Assert.Equal(renewed.Fence, state.CurrentFence);
    }

    [Fact]
    public void A_tenure_that_has_not_run_out_is_not_reported_as_lapsed()
    {
        state.Hold(Lease("me", "http://me:5000", epoch: 1), clock.GetTimestamp());
        clock.Advance(Ttl - TimeSpan.FromTicks(1));

        Assert.False(state.TakeLapsedTenure());
        Assert.True(state.Current.IsPrimary);
    }

    [Fact]
    public void A_lapsed_tenure_is_reported_once_and_forgets_the_primary()
    {
        state.Hold(Lease("me", "http://me:5000", epoch: 1), clock.GetTimestamp());
        clock.Advance(Ttl);

        Assert.True(state.TakeLapsedTenure());
        Assert.False(state.TakeLapsedTenure());
        Assert.Equal(new PrimaryView(false, null, null, null), state.Current);
        Assert.Null(state.LastSeenLease);
    }

    [Fact]
    public void A_lease_with_a_higher_epoch_ends_the_tenure()
    {
        state.Hold(Lease("me", "http://me:5000", epoch: 3), clock.GetTimestamp());

        state.Observe(Lease("b", "http://b:5000", epoch: 4));

        Assert.Null(state.CurrentFence);
        Assert.Equal(new PrimaryView(false, 4, "b", "http://b:5000"), state.Current);
    }

    [Fact]
    public void Observing_its_own_lease_keeps_the_tenure()
    {
        var lease = Lease("me", "http://me:5000", epoch: 3);
        state.Hold(lease, clock.GetTimestamp());

        state.Observe(lease);

        Assert.Equal(lease.Fence, state.CurrentFence);
    }

    [Fact]
    public void Stepping_down_ends_the_tenure_and_names_no_primary()
    {
        state.Hold(Lease("me", "http://me:5000", epoch: 3), clock.GetTimestamp());

        state.StepDown();

        Assert.Null(state.CurrentFence);
        Assert.Null(state.LastSeenLease);
        Assert.Equal(new PrimaryView(false, null, null, null), state.Current);
    }

    [Fact]
    public void A_primary_reports_itself_from_its_lease()
    {
        state.Hold(Lease("me", "http://me:5000", epoch: 9), clock.GetTimestamp());

        Assert.Equal(new PrimaryView(true, 9, "me", "http://me:5000"), state.Current);
    }

    [Fact]
    public void A_backup_reports_the_primary_of_the_lease_it_observed()
    {
        state.Observe(Lease("a", "http://a:5000", epoch: 7));

        Assert.Null(state.CurrentFence);
        Assert.Equal(new PrimaryView(false, 7, "a", "http://a:5000"), state.Current);
    }

    [Fact]
    public void A_backup_that_observed_no_lease_knows_no_primary()
    {
        state.Observe(Lease("a", "http://a:5000", epoch: 7));

        state.Observe(null);

        Assert.Equal(new PrimaryView(false, null, null, null), state.Current);
    }

    private static Lease Lease(string holder, string url, long epoch, DateTimeOffset? serverNow = null)
    {
        var now = serverNow ?? DatabaseNow;
        return new Lease("gateway-primary", holder, url, epoch, now + Ttl, now);
    }
}
