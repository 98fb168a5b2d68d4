namespace TaskServer.StorageManager.Failovers;

/// <summary>
/// One change of primary, as the node that took over saw it. Times are that node's clock: TTD and TTR
/// are intervals it measured itself (last good probe -> suspicion -> promotion), so clock skew between
/// nodes does not enter them.
/// </summary>
public sealed record FailoverEvent(
    Guid Id,
    string LeaseName,
    string? OldHolder,
    string NewHolder,
    long Epoch,
    DateTimeOffset? LastContactAt,
    DateTimeOffset? SuspectedAt,
    DateTimeOffset PromotedAt)
{
    /// <summary>Time to detect: from the last good probe of the old primary to the suspicion.</summary>
    public TimeSpan? TimeToDetect => SuspectedAt - LastContactAt;

    /// <summary>From the last good probe of the old primary to holding the lease.</summary>
    public TimeSpan? TimeToPromote => PromotedAt - LastContactAt;
}

/// <summary>The failover history, kept in the database so every gateway (and the drills) can read it.</summary>
public interface IFailoverLog
{
    Task RecordAsync(FailoverEvent failover, CancellationToken cancellationToken);

    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<FailoverEvent>> ListAsync(string leaseName, int limit, CancellationToken cancellationToken);
}
