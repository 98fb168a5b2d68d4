namespace TaskServer.StorageManager.Leases;

/// <summary>
/// A named, fenced lease. Every call is one atomic conditional write evaluated with the database
/// server's clock. Every successful acquisition starts a new tenure with the next epoch, so the
/// epoch is a fencing token: two contenders never both hold one epoch.
/// </summary>
public interface ILeaseStore
{
    /// <summary>Takes the lease if nobody holds it or the holder's lease has expired.</summary>
    Task<LeaseResult> TryAcquireAsync(string name, string holder, string holderUrl, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Extends the lease; fails if it expired or a newer epoch was granted.</summary>
    Task<LeaseResult> TryRenewAsync(Fence fence, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Ends the tenure now so a successor need not wait for expiry; false if it was not held.</summary>
    Task<bool> ReleaseAsync(Fence fence, CancellationToken cancellationToken);

    Task<Lease?> ReadAsync(string name, CancellationToken cancellationToken);
}
