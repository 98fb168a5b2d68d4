namespace TaskServer.StorageManager;

/// <summary>
/// When this node last completed, and last failed, a round trip to its database. The node's own work (its heartbeat
/// every second) is evidence that the database answers, so the health check need not send a ping of its own on every
/// probe; and evidence that it did not, so a wait that the database's absence explains is not blamed on anything else.
/// </summary>
public sealed class StorageContact(TimeProvider timeProvider)
{
    private long lastSuccess = long.MinValue;
    private long lastFailure = long.MinValue;

    public void Succeeded() => Interlocked.Exchange(ref lastSuccess, timeProvider.GetTimestamp());

    public void Failed() => Interlocked.Exchange(ref lastFailure, timeProvider.GetTimestamp());

    /// <summary>True when a round trip succeeded within <paramref name="window"/>.</summary>
    public bool SucceededWithin(TimeSpan window) => Within(Interlocked.Read(ref lastSuccess), window);

    /// <summary>True when a round trip failed within <paramref name="window"/>.</summary>
    public bool FailedWithin(TimeSpan window) => Within(Interlocked.Read(ref lastFailure), window);

    private bool Within(long timestamp, TimeSpan window) => timestamp != long.MinValue && timeProvider.GetElapsedTime(timestamp) < window;
}
