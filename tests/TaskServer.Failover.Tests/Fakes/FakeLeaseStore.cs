using TaskServer.StorageManager.Leases;

namespace TaskServer.Failover.Tests.Fakes;

/// <summary>
/// An in-memory lease with the store's rules: a lease is granted when there is none, it has expired, or the
/// holder's session is gone; every grant is a new epoch. Its clock is the node's fake clock shifted by
/// hours, so a test only passes if the agent relies on the time left the store reports, not on dates.
/// </summary>
internal sealed class FakeLeaseStore(TimeProvider nodeClock) : ILeaseStore
{
    public static readonly TimeSpan Skew = TimeSpan.FromHours(5);

    public Lease? Lease { get; private set; }

    /// <summary>What the PostgreSQL store sees when the holder's backend is gone: its lease may be taken before expiry.</summary>
    public bool HolderSessionGone { get; set; }

    public bool RefuseRenewals { get; set; }

    public List<string> Acquisitions { get; } = [];

    public List<Fence> Renewals { get; } = [];

    public List<Fence> Releases { get; } = [];

    public int Reads { get; private set; }

    public DateTimeOffset Now => nodeClock.GetUtcNow() + Skew;

    public void Grant(string holder, string holderUrl, long epoch, TimeSpan ttl) =>
        Lease = new Lease("gateway-primary", holder, holderUrl, epoch, Now + ttl, Now);

    public Task<LeaseResult> TryAcquireAsync(string name, string holder, string holderUrl, TimeSpan ttl, CancellationToken cancellationToken)
    {
        Acquisitions.Add(holder);
        if (Lease is { } held && held.ExpiresAt > Now && !HolderSessionGone)
        {
            return Task.FromResult(LeaseResult.Failed);
        }

        HolderSessionGone = false;
        Lease = new Lease(name, holder, holderUrl, (Lease?.Epoch ?? 0) + 1, Now + ttl, Now);
        return Task.FromResult(new LeaseResult(true, Lease));
    }

    public Task<LeaseResult> TryRenewAsync(Fence fence, TimeSpan ttl, CancellationToken cancellationToken)
    {
        Renewals.Add(fence);
        if (RefuseRenewals || Lease is not { } held || held.Fence != fence || held.ExpiresAt <= Now)
        {
            return Task.FromResult(LeaseResult.Failed);
        }

        Lease = held with { ExpiresAt = Now + ttl, ServerNow = Now };
        return Task.FromResult(new LeaseResult(true, Lease));
    }

    public Task<bool> ReleaseAsync(Fence fence, CancellationToken cancellationToken)
    {
        Releases.Add(fence);
        if (Lease is not { } held || held.Fence != fence || held.ExpiresAt <= Now)
        {
            return Task.FromResult(false);
        }

        Lease = held with { ExpiresAt = Now, ServerNow = Now };
        return Task.FromResult(true);
    }

    public Task<Lease?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        Reads++;
        return Task.FromResult(Lease is { } held ? held with { ServerNow = Now } : null);
    }
}
