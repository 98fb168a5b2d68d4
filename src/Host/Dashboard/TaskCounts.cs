using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Dashboard;

/// <summary>How many tasks were in each state, as counted at <see cref="CountedAt"/>.</summary>
internal sealed record TaskCountsSnapshot(IReadOnlyDictionary<TaskState, long> Counts, DateTimeOffset CountedAt)
{
    public long this[TaskState state] => Counts.GetValueOrDefault(state);
}

/// <summary>
/// The task counts behind the dashboard's tiles. Hangfire computes tiles synchronously, on every page and on every
/// poll of its <c>/stats</c> (every few seconds while a dashboard page is open), so a tile never waits for the
/// database: it is given the last counts and, when they are older than <see cref="RefreshInterval"/>, starts one
/// count in the background for the polls that follow. Only looking at the dashboard counts: an idle cluster with
/// nobody looking sends nothing.
/// </summary>
internal sealed partial class TaskCounts(ITaskStore store, TimeProvider timeProvider, IHostApplicationLifetime lifetime, ILogger<TaskCounts> logger)
{
    /// <summary>The counts are refreshed at most this often, however many dashboards poll.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private readonly Lock gate = new();
    private Task refreshing = Task.CompletedTask;
    private long? refreshStartedAt;
    private TaskCountsSnapshot? last;

    /// <summary>The last counts, null before the first count has completed; starts a count when they are stale.</summary>
    public TaskCountsSnapshot? Peek()
    {
        _ = RefreshWhenStaleAsync();
        return Volatile.Read(ref last);
    }

    /// <summary>
    /// For a page that can wait: the count under way, or a new one when the last started <see cref="RefreshInterval"/>
    /// or more ago. Never faults; a failed count leaves the last counts in place.
    /// </summary>
    public Task RefreshWhenStaleAsync()
    {
        lock (gate)
        {
            if (!refreshing.IsCompleted || (refreshStartedAt is { } started && timeProvider.GetElapsedTime(started) < RefreshInterval))
            {
                return refreshing;
            }

            refreshStartedAt = timeProvider.GetTimestamp();
            // On the thread pool: the caller is Hangfire rendering a tile, which must not do any of the count's work.
            refreshing = Task.Run(CountAsync, CancellationToken.None);
            return refreshing;
        }
    }

    private async Task CountAsync()
    {
        try
        {
            var counts = await store.CountByStatusAsync(lifetime.ApplicationStopping);
            Volatile.Write(ref last, new TaskCountsSnapshot(counts, timeProvider.GetUtcNow()));
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // The node is stopping; nobody will see another count.
        }
        catch (Exception exception)
        {
            LogCountFailed(exception);
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Warning, Message = "The dashboard's task counts could not be refreshed; the last counts stay on the tiles")]
    private partial void LogCountFailed(Exception exception);
}
