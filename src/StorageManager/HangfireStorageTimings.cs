namespace TaskServer.StorageManager;

/// <summary>
/// The timings every provider gives its Hangfire storage, so the two behave alike whichever database runs.
/// </summary>
public static class HangfireStorageTimings
{
    /// <summary>
    /// A worker thread with nothing to do waits this long before polling its queue again (Mongo's queue
    /// watcher wakes fetchers early through its notifications collection). PostgreSQL's long polling is
    /// off: its one NOTIFY channel woke every idle fetcher of every node on each enqueue (~80 on the
    /// local cluster, all racing for one job), and each waiting fetcher held a pooled connection.
    /// </summary>
    public static readonly TimeSpan QueuePollInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A job fetched by a server that died becomes visible again after this; TaskServer's sweeper
    /// requeues a dead worker's tasks much sooner, so this is only Hangfire's own last resort.
    /// </summary>
    public static readonly TimeSpan InvisibilityTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Hangfire takes a distributed lock (a row) around every job state change. A connection cut between
    /// taking and releasing it leaves the row behind, and the job stalls until the row is this old; the
    /// default, 10 minutes, turned a two-second database outage into a ten-minute stall. Hangfire holds
    /// these locks for milliseconds, so 30 s (Hangfire.Mongo's own default) is ample.
    /// </summary>
    public static readonly TimeSpan DistributedLockTimeout = TimeSpan.FromSeconds(30);
}
