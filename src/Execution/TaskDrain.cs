using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Execution;

/// <summary>
/// A worker's execution loop, a hosted service of its own (River's producer shape): when work may have arrived it
/// claims as many due tasks as it has free slots (the claim is the start of each attempt), runs them concurrently
/// through the <see cref="IAttemptRunner"/>, and claims again as slots free up. An idle worker sends the database
/// nothing.
/// It looks after its own orphans, which nothing else can see while it lives: tasks Running under this worker that no
/// attempt in this process runs (a claim that committed but whose reply was lost) are adopted and run, and outcomes
/// the store could not take are written again; both after a failed claim and every
/// <see cref="ExecutionOptions.OrphanCheckInterval"/> while busy.
/// On shutdown it stops claiming, lets running attempts finish for <see cref="ExecutionOptions.ShutdownGrace"/>, stops
/// the rest and hands them back without spending their attempt, then leaves the registry so that the primary moves
/// whatever it still owns at once.
/// </summary>
public sealed partial class TaskDrain(
    ITaskStore store,
    INodeRegistry registry,
    IAttemptRunner runner,
    RunningAttempts running,
    TaskArrivals arrivals,
    WorkerShutdown shutdown,
    ExecutionWorker worker,
    IOptions<ExecutionOptions> options,
    TimeProvider timeProvider,
    ILogger<TaskDrain> logger) : BackgroundService
{
    /// <summary>After a claim failed (the database out of reach), the next one waits this long.</summary>
    public static readonly TimeSpan ClaimRetryDelay = TimeSpan.FromSeconds(1);

    private readonly WorkSignal slotFreed = new();
    private readonly CancellationTokenSource stopHandlers = new();
    private readonly ConcurrentDictionary<Task, byte> attempts = new();
    private readonly ConcurrentDictionary<(Guid TaskId, Guid AttemptToken), TaskTransition> unwritten = new();
    private readonly ConcurrentDictionary<(Guid TaskId, Guid AttemptToken), RunningAttempt> stopped = new();

    /// <summary>Outcomes this worker could not write yet; each is written again at the next orphan check.</summary>
    public int UnwrittenOutcomes => unwritten.Count;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var watcher = WatchForSupersededAsync(settings.CancellationCheckInterval, watching.Token);
        try
        {
            await ClaimUntilStoppedAsync(settings, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await ShutDownAsync(settings);
        await watching.CancelAsync();
        await watcher;
    }

    public override void Dispose()
    {
        stopHandlers.Dispose();
        base.Dispose();
    }

    private async Task ClaimUntilStoppedAsync(ExecutionOptions settings, CancellationToken stoppingToken)
    {
        var stopped = Task.Delay(Timeout.Infinite, stoppingToken);
        var mayHaveWork = true;
        var orphanCheckDue = false;
        var busySinceCheck = false;
        var lastCheck = timeProvider.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested && !shutdown.Draining)
        {
            var seenArrivals = arrivals.Signal.Version;
            var seenSlots = slotFreed.Version;
            var seenShutdown = shutdown.Changed.Version;
            var checkIn = settings.OrphanCheckInterval - timeProvider.GetElapsedTime(lastCheck);
            if (orphanCheckDue || ((busySinceCheck || !unwritten.IsEmpty) && checkIn <= TimeSpan.Zero))
            {
                lastCheck = timeProvider.GetTimestamp();
                busySinceCheck = running.Count > 0;
                orphanCheckDue = !await TryAdoptOrphansAsync(release: false, stoppingToken);
                if (orphanCheckDue)
                {
                    await Task.WhenAny(Task.Delay(ClaimRetryDelay, timeProvider, stoppingToken), stopped);
                }

                continue;
            }

            var free = worker.Capacity - running.Count;
            if (mayHaveWork && free > 0)
            {
                IReadOnlyList<TaskRecord> tasks;
                try
                {
                    tasks = await store.ClaimAsync(worker.Id, free, worker.WorkerTimeout, stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The claim may have committed with its reply lost: its tasks are Running here with no attempt.
                    LogClaimFailed(exception);
                    orphanCheckDue = true;
                    await Task.WhenAny(Task.Delay(ClaimRetryDelay, timeProvider, stoppingToken), stopped);
                    continue;
                }

                foreach (var task in tasks)
                {
                    Start(task);
                }

                busySinceCheck |= tasks.Count > 0;
                mayHaveWork = tasks.Count == free || arrivals.Signal.Version != seenArrivals;
                continue;
            }

            // New work; a freed slot when work is held back by capacity; the next orphan check while there is
            // something to check; shutdown.
            var checkLater = busySinceCheck || !unwritten.IsEmpty;
            await Task.WhenAny(
                arrivals.Signal.WhenRaisedAfter(seenArrivals),
                mayHaveWork ? slotFreed.WhenRaisedAfter(seenSlots) : stopped,
                checkLater ? Task.Delay(checkIn > TimeSpan.Zero ? checkIn : TimeSpan.Zero, timeProvider, stoppingToken) : stopped,
                shutdown.Changed.WhenRaisedAfter(seenShutdown),
                stopped);
            mayHaveWork |= arrivals.Signal.Version != seenArrivals;
        }
    }

    private void Start(TaskRecord task)
    {
        var attempt = RunAttemptAsync(task);
        attempts.TryAdd(attempt, 0);
        _ = attempt.ContinueWith(static (done, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(done, out _), attempts, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task RunAttemptAsync(TaskRecord task)
    {
        // Not tied to the host's stopping token: on shutdown attempts run on through the grace, then are stopped.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopHandlers.Token);
        var attempt = new RunningAttempt(task.Id, task.AttemptToken, timeProvider.GetTimestamp(), stop);
        if (!running.TryBegin(attempt))
        {
            return;
        }

        try
        {
            var end = await runner.RunAsync(task, attempt);
            if (end.Unwritten is { } outcome)
            {
                unwritten[(task.Id, task.AttemptToken)] = outcome;
            }
            else if (end.Stopped)
            {
                stopped[(task.Id, task.AttemptToken)] = attempt;
            }
        }
        catch (Exception exception)
        {
            // The runner writes every failure as the attempt's outcome; reaching here means it could not even do that.
            LogAttemptCrashed(exception, task.Id, task.Attempt);
        }
        finally
        {
            running.End(attempt);
            slotFreed.Raise();
        }
    }

    /// <summary>
    /// Writes the outcomes that could not be written, then finds tasks Running under this worker that no attempt here
    /// runs and adopts them (runs them as the attempt they are) or, on shutdown, hands them back. False when the store
    /// could not be read or written.
    /// </summary>
    private async Task<bool> TryAdoptOrphansAsync(bool release, CancellationToken cancellationToken)
    {
        try
        {
            await RewriteUnwrittenAsync(cancellationToken);

            // Taken before the read: an attempt that ends meanwhile is in it, so its task, still Running in the read,
            // is not taken for an orphan. Nothing claims while this runs (the drain's loop does both in turn).
            var before = running.Snapshot().Select(a => (a.TaskId, a.AttemptToken)).ToHashSet();
            // More Running rows than attempts here plus what a lost claim could add would be a worker that never
            // adopts; the page is sized past both.
            var mine = await store.ListRunningByWorkerAsync(worker.Id, Math.Max(worker.Capacity * 4, 100), cancellationToken);
            var orphans = mine
                .Where(t => !before.Contains((t.Id, t.AttemptToken)) && !unwritten.ContainsKey((t.Id, t.AttemptToken)))
                .ToList();
            foreach (var orphan in orphans)
            {
                if (release)
                {
                    await store.ApplyAsync(new ReleaseAttempt(orphan.Id, orphan.AttemptToken, Guid.NewGuid()), cancellationToken);
                    LogOrphanReleased(orphan.Id, orphan.Attempt);
                }
                else if (running.Count < worker.Capacity)
                {
                    LogOrphanAdopted(orphan.Id, orphan.Attempt);
                    Start(orphan);
                }
            }

            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogOrphanCheckFailed(exception);
            return false;
        }
    }

    private async Task RewriteUnwrittenAsync(CancellationToken cancellationToken)
    {
        if (unwritten.IsEmpty)
        {
            return;
        }

        var pending = unwritten.ToList();
        var results = await store.ApplyOutcomesAsync([.. pending.Select(p => p.Value)], cancellationToken);
        for (var i = 0; i < pending.Count; i++)
        {
            // Applied, or refused because the attempt was superseded meanwhile: either way nothing is left to write.
            unwritten.TryRemove(pending[i].Key, out _);
            LogOutcomeRewritten(pending[i].Key.TaskId, results[i]);
        }
    }

    private async Task ShutDownAsync(ExecutionOptions settings)
    {
        shutdown.BeginDraining();
        var inFlight = attempts.Keys.ToList();
        LogShuttingDown(worker.Id, inFlight.Count, settings.ShutdownGrace);
        var all = Task.WhenAll(inFlight);
        await Task.WhenAny(all, Task.Delay(settings.ShutdownGrace, timeProvider));
        if (!all.IsCompleted)
        {
            await stopHandlers.CancelAsync();

            // A handler that ignores its token is not waited for past its grace: its task is handed back regardless,
            // under a new token that refuses whatever it writes later.
            await Task.WhenAny(all, Task.Delay(settings.TimeoutGrace, timeProvider));
        }

        using var lastWrites = new CancellationTokenSource(settings.TimeoutGrace + AttemptOutcomes.RetryBudget, timeProvider);
        try
        {
            var handBack = stopped.Values.Concat(running.Snapshot()).DistinctBy(a => (a.TaskId, a.AttemptToken)).ToList();
            foreach (var attempt in handBack)
            {
                var released = await store.ApplyAsync(new ReleaseAttempt(attempt.TaskId, attempt.AttemptToken, Guid.NewGuid()), lastWrites.Token);
                LogHandedBack(attempt.TaskId, released.Outcome);
            }

            await TryAdoptOrphansAsync(release: true, lastWrites.Token);
            await registry.LeaveAsync(worker.Id, lastWrites.Token);
            shutdown.MarkLeft();
            LogLeft(worker.Id);
        }
        catch (Exception exception)
        {
            // Whatever was not handed back stays under this worker, whose heartbeat stops with it: the primary rescues
            // it after the worker timeout, spending the attempts that were running.
            LogHandBackFailed(exception, worker.Id);
        }
    }

    /// <summary>
    /// Asks the store, every <paramref name="interval"/>, whether the attempts running here for longer than that are
    /// still current; a cancelled or rescued task's handler sees its token cancelled. Short attempts finish first.
    /// </summary>
    private async Task WatchForSupersededAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
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
                    var current = (await store.GetCurrentAttemptsAsync([.. due.Select(a => a.TaskId).Distinct()], cancellationToken)).ToDictionary(c => c.Id);
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

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Claiming due tasks failed; checking for orphans, then trying again")]
    private partial void LogClaimFailed(Exception exception);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Task {TaskId} attempt {Attempt} was Running here with no attempt running it (a claim whose reply was lost): adopted")]
    private partial void LogOrphanAdopted(Guid taskId, int attempt);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information, Message = "Task {TaskId} attempt {Attempt}, claimed here but never started, handed back on shutdown")]
    private partial void LogOrphanReleased(Guid taskId, int attempt);

    [LoggerMessage(EventId = 113, Level = LogLevel.Warning, Message = "Checking running attempts for cancellation failed")]
    private partial void LogWatchFailed(Exception exception);

    [LoggerMessage(EventId = 114, Level = LogLevel.Warning, Message = "Checking for orphaned tasks and unwritten outcomes failed; trying again")]
    private partial void LogOrphanCheckFailed(Exception exception);

    [LoggerMessage(EventId = 115, Level = LogLevel.Information, Message = "Outcome of task {TaskId} written on a later try: {Outcome}")]
    private partial void LogOutcomeRewritten(Guid taskId, TransitionOutcome outcome);

    [LoggerMessage(EventId = 116, Level = LogLevel.Error, Message = "Attempt of task {TaskId} (attempt {Attempt}) ended without an outcome")]
    private partial void LogAttemptCrashed(Exception exception, Guid taskId, int attempt);

    [LoggerMessage(EventId = 117, Level = LogLevel.Information, Message = "Worker {Worker} shutting down: claiming stopped, {Running} attempt(s) running, up to {Grace} to finish")]
    private partial void LogShuttingDown(string worker, int running, TimeSpan grace);

    [LoggerMessage(EventId = 118, Level = LogLevel.Information, Message = "Task {TaskId}, stopped by shutdown, handed back: {Outcome}")]
    private partial void LogHandedBack(Guid taskId, TransitionOutcome outcome);

    [LoggerMessage(EventId = 119, Level = LogLevel.Information, Message = "Worker {Worker} left the registry")]
    private partial void LogLeft(string worker);

    [LoggerMessage(EventId = 120, Level = LogLevel.Error, Message = "Worker {Worker} could not hand back its unfinished tasks; the primary rescues them after the worker timeout")]
    private partial void LogHandBackFailed(Exception exception, string worker);
}
