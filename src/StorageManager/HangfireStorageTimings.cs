namespace TaskServer.StorageManager;

/// <summary>
/// The timings every provider gives its Hangfire storage, so the two behave alike whichever database runs.
/// </summary>
public static class HangfireStorageTimings
{
    /// <summary>
    /// A worker thread with nothing to do waits this long before polling its queue again. The only jobs are
    /// drains, and a worker enqueues its own: the storage wakes the process's own fetchers when it enqueues
    /// (Mongo's queue watcher through its notifications collection too), so the poll only catches what that
    /// wake-up missed, and an idle worker's threads cost a fetch each per interval. PostgreSQL's long polling
    /// stays off: its one NOTIFY channel woke every idle fetcher of every node on each enqueue.
    /// </summary>
    public static readonly TimeSpan QueuePollInterval = TimeSpan.FromSeconds(15);

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
