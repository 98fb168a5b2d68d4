using Microsoft.Extensions.Options;
using TaskServer.Host.Node;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Execution;

/// <summary>
/// A worker's execution: tasks are claimed from the task table in sets by a drain that runs inside one Hangfire job on
/// the worker's own queue. When work arrives and no drain is running, this enqueues one; the drain claims as many due
/// tasks as it has free slots (the claim is the start of each attempt), runs their handlers concurrently, writes their
/// outcomes in sets, claims again as slots free up, and ends after <see cref="Linger"/> with nothing to do. An idle
/// worker therefore has no drain and sends nothing.
/// </summary>
public sealed partial class TaskDrain(
    ITaskStore store,
    DrainJobs jobs,
    AttemptRunner runner,
    RunningAttempts running,
    TaskArrivals arrivals,
    NodeIdentity node,
    IOptions<NodeOptions> nodeOptions,
    IOptions<ExecutionOptions> executionOptions,
    StorageContact storageContact,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<TaskDrain> logger) : BackgroundService
{
    /// <summary>
    /// How long a drain with nothing to run waits for more before its job ends. Waiting costs the database nothing
    /// (Hangfire asks after the job every CancellationCheckInterval); starting a new drain costs Hangfire's enqueue,
    /// fetch and two state changes, and a few hundred milliseconds before the first claim.
    /// </summary>
    public static readonly TimeSpan Linger = TimeSpan.FromSeconds(10);

    /// <summary>After a claim failed (the database out of reach), the next one waits this long.</summary>
    private static readonly TimeSpan ClaimRetryDelay = TimeSpan.FromSeconds(1);

    private readonly Lock gate = new();
    private readonly WorkSignal drainChanged = new();
    private string? enqueuedJobId;
    private long enqueuedAt;

    // Since when a drain has been waiting to start, across re-enqueues of one that vanished: cleared when one starts.
    private long? awaitingStartSince;
    private ActiveRun? active;
    private long handledArrivals;

    private enum DrainState
    {
        Idle,
        Enqueued,
        Running,
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var seenArrivals = arrivals.Signal.Version;
            var seenChanges = drainChanged.Version;
            var state = DrainState.Idle;
            try
            {
                state = EnsureDrain(seenArrivals);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogEnqueueFailed(exception);
            }

            // Busy: nothing to do until the drain ends. Enqueued: until it starts, or is overdue. Idle: until work arrives.
            var wake = state switch
            {
                DrainState.Running => drainChanged.WhenRaisedAfter(seenChanges),
                DrainState.Enqueued => Task.WhenAny(drainChanged.WhenRaisedAfter(seenChanges), Task.Delay(StartDeadline, timeProvider, stoppingToken)),
                _ => arrivals.Signal.WhenRaisedAfter(seenArrivals),
            };
            await wake.WaitAsync(stoppingToken);
        }
    }

    /// <summary>
    /// How long the worker has waited for Hangfire to start an enqueued drain (null when none waits): past
    /// <see cref="ExecutionOptions.DrainStartDeadline"/>, its Hangfire server is not running its queue.
    /// </summary>
    public TimeSpan? AwaitingDrainStart
    {
        get
        {
            lock (gate)
            {
                return awaitingStartSince is { } since ? timeProvider.GetElapsedTime(since) : null;
            }
        }
    }

    /// <summary>
    /// True while a drain has waited past <see cref="ExecutionOptions.DrainStartDeadline"/> to start and the database has
    /// answered throughout the last deadline: a drain that could not start while the database was out of reach says
    /// nothing about Hangfire, whose fetcher (polling every 15 s) needs time to pick it up once the database is back.
    /// </summary>
    public bool StartOverdue => AwaitingDrainStart >= StartDeadline && !storageContact.FailedWithin(StartDeadline);

    private TimeSpan StartDeadline => executionOptions.Value.DrainStartDeadline;

    /// <summary>Enqueues a drain when work arrived since the last one looked and none is pending or running.</summary>
    private DrainState EnsureDrain(long arrivalsVersion)
    {
        lock (gate)
        {
            if (active is not null)
            {
                return DrainState.Running;
            }

            if (enqueuedJobId is { } pending)
            {
                if (timeProvider.GetElapsedTime(enqueuedAt) < StartDeadline || jobs.Inspect(pending) == Failover.Sweeping.JobFate.Pending)
                {
                    return DrainState.Enqueued;
                }

                LogDrainVanished(pending);
                enqueuedJobId = null;
            }

            if (arrivalsVersion == handledArrivals)
            {
                return DrainState.Idle;
            }

            enqueuedJobId = jobs.EnqueueDrain();
            enqueuedAt = timeProvider.GetTimestamp();
            awaitingStartSince ??= enqueuedAt;
            handledArrivals = arrivalsVersion;
            return DrainState.Enqueued;
        }
    }

    /// <summary>The body of the drain's Hangfire job <paramref name="jobId"/>.</summary>
    public async Task<DrainSummary> RunAsync(string jobId, CancellationToken jobToken)
    {
        ActiveRun run;
        ActiveRun? other;
        lock (gate)
        {
            other = active;
            run = new ActiveRun(jobId);
            if (other is null)
            {
                active = run;
                awaitingStartSince = null;
                if (enqueuedJobId == jobId)
                {
                    enqueuedJobId = null;
                }
            }
        }

        if (other is not null)
        {
            // Hangfire re-delivered this job while its first run goes on: wait for that run, so the job's state
            // stays Processing while its tasks run. Another drain's job has nothing to do.
            return other.JobId == jobId ? await other.Summary.Task.WaitAsync(jobToken) : DrainSummary.Empty;
        }

        drainChanged.Raise();

        try
        {
            var summary = await DrainAsync(run, jobToken);
            run.Summary.TrySetResult(summary);
            return summary;
        }
        catch (Exception exception)
        {
            run.Summary.TrySetException(exception);
            throw;
        }
        finally
        {
            lock (gate)
            {
                active = null;
                handledArrivals = run.LastClaimedArrivals;
            }

            drainChanged.Raise();
        }
    }

    private async Task<DrainSummary> DrainAsync(ActiveRun run, CancellationToken jobToken)
    {
        var capacity = nodeOptions.Value.Capacity;
        var slotFreed = new WorkSignal();
        var attempts = new List<Task<bool>>();
        var claimed = 0;
        var mayHaveWork = true;
        long? idleSince = null;
        var jobStopped = Task.Delay(Timeout.Infinite, jobToken);
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(jobToken);
        var watcher = WatchForSupersededAsync(watching.Token);
        try
        {
            while (!jobToken.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested)
            {
                var seenArrivals = arrivals.Signal.Version;
                var seenSlots = slotFreed.Version;
                attempts.RemoveAll(a => a.IsCompletedSuccessfully && a.Result);
                var free = capacity - running.Count;
                if (mayHaveWork && free > 0)
                {
                    // Only a claim covers an arrival: one raised after the last wait looked, with the linger then
                    // over, is left unclaimed, and the supervisor must enqueue the next drain for it.
                    run.LastClaimedArrivals = seenArrivals;

                    // Not cancelled by the job's token: a claim that committed must be read back, or its tasks would
                    // sit Running with no handler until the primary's stranded walk found them.
                    IReadOnlyList<TaskRecord> tasks;
                    try
                    {
                        tasks = await store.ClaimAsync(node.Id, run.JobId, free, lifetime.ApplicationStopped);
                    }
                    catch (Exception exception) when (exception is not OperationCanceledException)
                    {
                        LogClaimFailed(exception);
                        await Task.WhenAny(Task.Delay(ClaimRetryDelay, timeProvider, jobToken), jobStopped);
                        continue;
                    }

                    foreach (var task in tasks)
                    {
                        attempts.Add(StartAttempt(task, slotFreed, jobToken));
                    }

                    claimed += tasks.Count;
                    mayHaveWork = tasks.Count == free || arrivals.Signal.Version != seenArrivals;
                    idleSince = null;
                    continue;
                }

                // Read once: an attempt ending between two reads would leave this wait with neither the freed slot nor the
                // linger to end it, and the drain would wait for the next arrival, however long that took.
                var busy = running.Count > 0;
                var wait = Timeout.InfiniteTimeSpan;
                if (!busy)
                {
                    idleSince ??= timeProvider.GetTimestamp();
                    wait = Linger - timeProvider.GetElapsedTime(idleSince.Value);
                    if (wait <= TimeSpan.Zero)
                    {
                        break;
                    }
                }

                // New work, a freed slot (room to claim more, or the last attempt ended and the linger starts), or
                // the end of the linger.
                await Task.WhenAny(
                    arrivals.Signal.WhenRaisedAfter(seenArrivals),
                    busy ? slotFreed.WhenRaisedAfter(seenSlots) : jobStopped,
                    wait == Timeout.InfiniteTimeSpan ? jobStopped : Task.Delay(wait, timeProvider, jobToken),
                    jobStopped);
                mayHaveWork |= arrivals.Signal.Version != seenArrivals;
            }
        }
        catch (OperationCanceledException) when (jobToken.IsCancellationRequested)
        {
            // The job was stopped (shutdown, or deleted in the dashboard); the attempts end below.
        }

        // The job ends only when every attempt it claimed has ended and its outcome is on record (or could not be).
        var lost = (await Task.WhenAll(attempts)).Count(written => !written);
        await watching.CancelAsync();
        await watcher;
        if (lost > 0)
        {
            // A failed job is what the primary's stranded walk looks for: it requeues the tasks left Running.
            throw new InvalidOperationException($"{lost} outcome(s) of drain {run.JobId} could not be written.");
        }

        LogDrainEnded(run.JobId, claimed);
        return new DrainSummary(claimed);
    }

    private async Task<bool> StartAttempt(TaskRecord task, WorkSignal slotFreed, CancellationToken jobToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(jobToken);
        var attempt = new RunningAttempt(task.Id, task.AttemptToken, timeProvider.GetTimestamp(), stop);
        if (!running.TryBegin(attempt))
        {
            return true;
        }

        try
        {
            return await runner.RunAsync(task, attempt);
        }
        finally
        {
            running.End(task.Id);
            slotFreed.Raise();
        }
    }

    /// <summary>
    /// Once a second, asks the store whether the attempts running here for longer than that are still current; a
    /// cancelled or requeued task's handler sees its token cancelled. Short attempts finish before anyone asks.
    /// </summary>
    private async Task WatchForSupersededAsync(CancellationToken cancellationToken)
    {
        var interval = executionOptions.Value.CancellationCheckInterval;
        try
        {
            while (true)
            {
                await Task.Delay(interval, timeProvider, cancellationToken);
                var due = running.Snapshot().Where(a => timeProvider.GetElapsedTime(a.StartedAt) >= interval).ToList();
                if (due.Count == 0)
                {
                    continue;
                }

                try
                {
                    var current = (await store.GetCurrentAttemptsAsync([.. due.Select(a => a.TaskId)], cancellationToken)).ToDictionary(c => c.Id);
                    foreach (var attempt in due)
                    {
                        if (!current.TryGetValue(attempt.TaskId, out var now) || now.Status != TaskState.Running || now.AttemptToken != attempt.AttemptToken)
                        {
                            attempt.Supersede();
                        }
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    LogWatchFailed(exception);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private sealed class ActiveRun(string jobId)
    {
        public string JobId { get; } = jobId;

        public long LastClaimedArrivals { get; set; } = -1;

        public TaskCompletionSource<DrainSummary> Summary { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Could not enqueue a drain job")]
    private partial void LogEnqueueFailed(Exception exception);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Drain job {JobId} never started and is no longer due; enqueuing another")]
    private partial void LogDrainVanished(string jobId);

    [LoggerMessage(EventId = 112, Level = LogLevel.Debug, Message = "Drain {JobId} ended after claiming {Claimed} task(s)")]
    private partial void LogDrainEnded(string jobId, int claimed);

    [LoggerMessage(EventId = 114, Level = LogLevel.Warning, Message = "Claiming due tasks failed; trying again")]
    private partial void LogClaimFailed(Exception exception);

    [LoggerMessage(EventId = 113, Level = LogLevel.Warning, Message = "Checking running attempts for cancellation failed")]
    private partial void LogWatchFailed(Exception exception);
}

/// <summary>What one drain job did: the result Hangfire shows for it.</summary>
public sealed record DrainSummary(int Claimed)
{
    public static DrainSummary Empty { get; } = new(0);
}
