namespace TaskServer.StorageManager.Leases;

/// <summary>
/// A lease as the database sees it. <see cref="ServerNow"/> is the database clock at the read, so
/// the time left is computed without trusting the node's clock.
/// </summary>
public sealed record Lease(string Name, string Holder, string HolderUrl, long Epoch, DateTimeOffset ExpiresAt, DateTimeOffset ServerNow)
{
    public bool IsExpired => ExpiresAt <= ServerNow;

    public TimeSpan Remaining => IsExpired ? TimeSpan.Zero : ExpiresAt - ServerNow;

    public Fence Fence => new(Name, Holder, Epoch);
}

/// <summary>
/// The proof a primary-only write carries: the lease, its holder and the epoch it was granted.
/// The database rejects the write unless that holder still holds that epoch, unexpired.
/// </summary>
public readonly record struct Fence(string LeaseName, string Holder, long Epoch);

/// <param name="Lease">The lease after a successful call; null when it failed.</param>
public readonly record struct LeaseResult(bool Succeeded, Lease? Lease)
{
    public static LeaseResult Failed => new(false, null);
}
