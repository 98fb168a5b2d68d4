using TaskServer.Health;
using TaskServer.StorageManager.Leases;

namespace TaskServer.Failover.Leadership;

/// <summary>
/// Whether this gateway is primary, as its own agent knows it. Primacy ends by itself when the lease
/// could have expired without a renewal (measured on this process's monotonic clock from the moment the
/// renewal was sent), so a process that was paused past its lease wakes up as a backup, before it has
/// talked to anyone.
/// </summary>
public sealed class LeadershipState(TimeProvider timeProvider) : IPrimaryStatus
{
    private volatile Tenure? tenure;
    private volatile Lease? lastSeenLease;

    public PrimaryView Current
    {
        get
        {
            var fence = CurrentFence;
            var seen = lastSeenLease;
            return fence is { } held
                ? new PrimaryView(true, held.Epoch, held.Holder, seen?.HolderUrl)
                : new PrimaryView(false, seen?.Epoch, seen?.Holder, seen?.HolderUrl);
        }
    }

    /// <summary>The fence to carry on primary-only writes; null when this node is not (or may no longer be) primary.</summary>
    public Fence? CurrentFence => tenure is { } held && timeProvider.GetTimestamp() < held.ValidUntil ? held.Lease.Fence : null;

    /// <summary>The lease as this node last saw it, whoever holds it.</summary>
    public Lease? LastSeenLease => lastSeenLease;

    internal void Hold(Lease lease, long sentAt)
    {
        var valid = lease.ExpiresAt - lease.ServerNow;
        tenure = new Tenure(lease, sentAt + (long)(valid.TotalSeconds * timeProvider.TimestampFrequency));
        lastSeenLease = lease;
    }

    internal void Observe(Lease? lease)
    {
        lastSeenLease = lease;
        if (lease is not null && tenure is { } held && lease.Epoch > held.Lease.Epoch)
        {
            tenure = null;
        }
    }

    /// <summary>
    /// Gives up the tenure. The lease last seen was this node's own, so it no longer names the primary:
    /// clients are left to find it rather than being sent back here.
    /// </summary>
    internal void StepDown()
    {
        tenure = null;
        lastSeenLease = null;
    }

    /// <summary>True once when a tenure ran out on the monotonic clock without a renewal (the process was paused, or renewals hung).</summary>
    internal bool TakeLapsedTenure()
    {
        if (tenure is { } held && timeProvider.GetTimestamp() >= held.ValidUntil)
        {
            StepDown();
            return true;
        }

        return false;
    }

    private sealed record Tenure(Lease Lease, long ValidUntil);
}
