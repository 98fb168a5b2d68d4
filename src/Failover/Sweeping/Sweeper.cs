using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskServer.Failover.Leadership;
using TaskServer.LoadManager.Balancing;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Failover.Sweeping;

/// <summary>
/// The primary's clean-up, at once on promotion and then every SweepInterval: workers silent for longer
/// than WorkerTimeout are dead; their Queued and Running tasks are requeued onto live workers chosen by
/// the balancing policy (each with a new attempt token, so a late write of the dead attempt is refused;
/// the new owner's heartbeat sees them due and its drain claims them), and the dead worker is evicted once
/// it owns nothing. Running tasks whose job ended without their attempt ending (a drain whose outcomes could
/// not be written, or one deleted in the dashboard) are stranded: the sweeper walks the running tasks every
/// StrandedCheckInterval and requeues those found stranded on two walks in a row, with the same token and
/// job, so a task caught between two writes of a live attempt is left alone. Every write carries the fence:
/// a deposed primary's sweep changes nothing.
/// </summary>
internal sealed partial class Sweeper(
    INodeRegistry registry,
    ITaskStore tasks,
    LeadershipState leadership,
    WorkerPicker picker,
    IExecutionJobs jobs,
    SweepTrigger trigger,
    IOptions<FailoverOptions> options,
    TimeProvider timeProvider,
    ILogger<Sweeper> logger) : BackgroundService
{
    private const int Batch = 200;

    // Each candidate costs a job-store lookup, so the walk takes a smaller page than the other sweeps.
    private const int StrandedPage = 100;

    // A little past the moment a worker's heartbeat ages out, so the sweep that follows finds it dead.
    private static readonly TimeSpan PastTimeout = TimeSpan.FromMilliseconds(20);

    private TimeSpan nextSweep;
    private Guid? strandedCursor;
    private long nextStrandedWalk;
    private Dictionary<Guid, (Guid Token, string JobId)> strandedOnLastWalk = [];
    private Dictionary<Guid, (Guid Token, string JobId)> strandedOnThisWalk = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        nextSweep = settings.SweepInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            await trigger.WaitAsync(nextSweep, timeProvider, stoppingToken);
            nextSweep = settings.SweepInterval;
            if (leadership.CurrentFence is not { } fence)
            {
                continue;
            }

            try
            {
                await SweepAsync(fence, settings, stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogSweepFailed(exception);
            }
        }
    }

    internal async Task SweepAsync(Fence fence, FailoverOptions settings, CancellationToken cancellationToken)
    {
        var nodes = await registry.ListAsync(cancellationToken);
        var workers = nodes.Where(n => n.Role is NodeRole.Worker or NodeRole.Standalone).ToList();
        var live = workers.Where(n => n.Age <= settings.WorkerTimeout).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);

        // Wake when the stalest live worker would age out rather than up to a SweepInterval later: its orphans
        // are requeued about WorkerTimeout after its last heartbeat.
        var firstToAgeOut = workers.Where(n => live.Contains(n.NodeId)).Select(n => settings.WorkerTimeout - n.Age + PastTimeout).DefaultIfEmpty(settings.SweepInterval).Min();
        nextSweep = firstToAgeOut < settings.SweepInterval ? firstToAgeOut : settings.SweepInterval;
        foreach (var dead in workers.Where(n => !live.Contains(n.NodeId)))
        {
            if (!await RequeueFromAsync(dead, fence, cancellationToken))
            {
                return;
            }
        }

        await RequeueStrandedAsync(fence, settings, cancellationToken);
    }

    /// <summary>One page of the walk over running tasks per sweep; a new walk starts StrandedCheckInterval after the last ended.</summary>
    private async Task RequeueStrandedAsync(Fence fence, FailoverOptions settings, CancellationToken cancellationToken)
    {
        if (strandedCursor is null && timeProvider.GetTimestamp() < nextStrandedWalk)
        {
            return;
        }

        var page = await tasks.ListRunningAsync(strandedCursor, StrandedPage, cancellationToken);

        // A drain job runs many tasks: each job is looked up once per page.
        var fates = new Dictionary<string, JobFate>(StringComparer.Ordinal);
        foreach (var task in page)
        {
            if (task.JobId is not { } jobId)
            {
                continue;
            }

            if (!fates.TryGetValue(jobId, out var fate))
            {
                fate = jobs.Inspect(jobId);
                fates[jobId] = fate;
            }

            if (!IsStranded(task.Status, fate))
            {
                continue;
            }

            var sighting = (task.AttemptToken, task.JobId!);
            if (strandedOnLastWalk.TryGetValue(task.Id, out var earlier) && earlier == sighting)
            {
                LogStranded(task.Id, task.Status, fate, task.JobId!);
                if (await RequeueAsync(task, excluded: null, "stranded on worker", fence, cancellationToken) == Requeue.Fenced)
                {
                    return;
                }
            }
            else
            {
                strandedOnThisWalk[task.Id] = sighting;
            }
        }

        strandedCursor = page.Count == StrandedPage ? page[^1].Id : null;
        if (strandedCursor is null)
        {
            strandedOnLastWalk = strandedOnThisWalk;
            strandedOnThisWalk = [];
            nextStrandedWalk = timeProvider.GetTimestamp() + (long)(settings.StrandedCheckInterval.TotalSeconds * timeProvider.TimestampFrequency);
        }
    }

    /// <summary>
    /// A running task's job must still be running. A drain job ends only after every attempt it claimed has its
    /// outcome written (it fails when one could not be, and a re-delivered drain waits for its first run), so a
    /// task still Running under a job that ended, in any way, was left behind. Queued tasks have no job: the drain
    /// of their owner claims them.
    /// </summary>
    internal static bool IsStranded(TaskState status, JobFate fate) => status == TaskState.Running && fate != JobFate.Pending;

    /// <summary>False when the fence no longer holds: this node was deposed and must stop sweeping.</summary>
    private async Task<bool> RequeueFromAsync(NodeRecord dead, Fence fence, CancellationToken cancellationToken)
    {
        var orphaned = await tasks.ListActiveByWorkerAsync(dead.NodeId, Batch, cancellationToken);
        var abandoned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var task in orphaned)
        {
            switch (await RequeueAsync(task, dead.NodeId, "dead worker", fence, cancellationToken))
            {
                case Requeue.Fenced:
                    return false;
                case Requeue.Moved when task.JobId is { } jobId:
                    abandoned.Add(jobId);
                    break;
            }
        }

        // The drain jobs whose tasks moved would otherwise show as processing in the dashboard until Hangfire gave up on
        // them. Only those: a worker thought dead under load but alive keeps the drain that still runs its tasks.
        foreach (var jobId in abandoned)
        {
            jobs.Abandon(jobId);
        }

        // Evicted in the same sweep once it owns nothing, so its leaving the registry marks the requeue.
        if (orphaned.Count == 0 || (orphaned.Count < Batch && await tasks.CountActiveByWorkerAsync(dead.NodeId, cancellationToken) is { Queued: 0, Running: 0 }))
        {
            var evicted = await registry.EvictAsync(dead.NodeId, options.Value.WorkerTimeout, fence, cancellationToken);
            if (evicted == EvictOutcome.Fenced)
            {
                LogFenced(null, fence.Epoch);
                return false;
            }

            if (evicted == EvictOutcome.Evicted)
            {
                LogEvicted(dead.NodeId, dead.Age, fence.Epoch);
            }
        }

        return true;
    }

    private enum Requeue
    {
        Moved,
        NotMoved,
        Fenced,
    }

    /// <summary>Moves the task to a new attempt token on a live worker; <see cref="Requeue.Fenced"/> when the fence no longer holds.</summary>
    private async Task<Requeue> RequeueAsync(TaskRecord task, string? excluded, string reason, Fence fence, CancellationToken cancellationToken)
    {
        var target = picker.Pick(excluded);
        if (target is null)
        {
            LogNoLiveWorker(task.Id, task.Worker);
            return Requeue.NotMoved;
        }

        var nextToken = Guid.NewGuid();
        var requeued = await tasks.ApplyAsync(new RequeueTask(task.Id, task.AttemptToken, target.NodeId, nextToken, fence), cancellationToken);
        switch (requeued.Outcome)
        {
            case TransitionOutcome.Fenced:
                LogFenced(task.Id, fence.Epoch);
                return Requeue.Fenced;
            case TransitionOutcome.Applied:
                LogRequeued(task.Id, reason, task.Worker, target.NodeId, requeued.Task!.Attempt, fence.Epoch);
                return Requeue.Moved;
            default:
                return Requeue.NotMoved;
        }
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "Requeued task {TaskId} from {Reason} {PreviousWorker} to {Worker} as attempt {Attempt} (epoch {Epoch})")]
    private partial void LogRequeued(Guid taskId, string reason, string? previousWorker, string worker, int attempt, long epoch);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "Evicted worker {Worker}, silent for {Age} (epoch {Epoch})")]
    private partial void LogEvicted(string worker, TimeSpan age, long epoch);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Sweep write for task {TaskId} fenced: epoch {Epoch} is no longer the primary's")]
    private partial void LogFenced(Guid? taskId, long epoch);

    [LoggerMessage(EventId = 503, Level = LogLevel.Warning, Message = "No live worker to take task {TaskId} from {PreviousWorker}; retrying next sweep")]
    private partial void LogNoLiveWorker(Guid taskId, string? previousWorker);

    [LoggerMessage(EventId = 506, Level = LogLevel.Warning, Message = "Task {TaskId} is {Status} but its job {JobId} is {Fate}: stranded, requeuing it")]
    private partial void LogStranded(Guid taskId, TaskState status, JobFate fate, string jobId);

    [LoggerMessage(EventId = 505, Level = LogLevel.Warning, Message = "Sweep failed")]
    private partial void LogSweepFailed(Exception exception);
}
