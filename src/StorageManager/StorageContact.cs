namespace TaskServer.StorageManager;

/// <summary>
/// When this node last completed a round trip to its database. The node's own work (its heartbeat every second)
/// is evidence that the database answers, so the health check need not send a ping of its own on every probe.
/// </summary>
public sealed class StorageContact(TimeProvider timeProvider)
{
    private long lastSuccess = long.MinValue;

    public void Succeeded() => Interlocked.Exchange(ref lastSuccess, timeProvider.GetTimestamp());

    /// <summary>True when a round trip succeeded within <paramref name="window"/>.</summary>
    public bool SucceededWithin(TimeSpan window)
    {
        var last = Interlocked.Read(ref lastSuccess);
        return last != long.MinValue && timeProvider.GetElapsedTime(last) < window;
    }
}
