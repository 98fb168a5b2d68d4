namespace TaskServer.Execution;

/// <summary>
/// When this worker last sent a heartbeat that the database took, by the local monotonic clock. The database stamps
/// <c>last_seen</c> no earlier than the send, and the primary may take this worker's attempts only once that stamp is
/// <see cref="ExecutionWorker.WorkerTimeout"/> old: so while the age here is well under the timeout, no rescue can
/// have ended an attempt the store has just confirmed, however long the process was paused before it looked.
/// Not <c>StorageContact</c>: that one also counts the health check's ping, which stamps nothing, and dates a success
/// by its reply, which a pause can delay past the stamp.
/// </summary>
public sealed class LastHeartbeat(TimeProvider timeProvider)
{
    private long sentAt = long.MinValue;

    /// <param name="sentAtTimestamp">The <see cref="TimeProvider.GetTimestamp"/> taken before the heartbeat was sent.</param>
    public void Taken(long sentAtTimestamp) => Interlocked.Exchange(ref sentAt, sentAtTimestamp);

    /// <summary>How long ago the last heartbeat the database took was sent; <see cref="TimeSpan.MaxValue"/> before the first.</summary>
    public TimeSpan Age => Interlocked.Read(ref sentAt) is var at && at != long.MinValue ? timeProvider.GetElapsedTime(at) : TimeSpan.MaxValue;
}
