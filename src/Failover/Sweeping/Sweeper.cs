using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskServer.Failover.Leadership;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Failover.Sweeping;

/// <summary>
/// The primary's rescue, at once on promotion and then every SweepInterval (sooner when a live worker is about to age
/// out). It works by task, not by node: one fenced write takes every active task whose owner is not a live node
/// (crashed, evicted, never registered, or silent past WorkerTimeout), and the queued tasks of draining workers, and
/// moves them onto live workers, or fails a running one whose lost attempt was its last (<see cref="ITaskStore.RescueAsync"/>).
/// So no writer can hand a task to an identity that nothing will sweep: whatever owns it, a task whose owner is not
/// live is found. Then silent nodes that own nothing are evicted, again in one fenced write each. A deposed primary's
/// rescue changes nothing.
/// </summary>
internal sealed partial class Sweeper(
    INodeRegistry registry,
    ITaskStore tasks,
    LeadershipState leadership,
    SweepTrigger trigger,
    IOptions<FailoverOptions> options,
    TimeProvider timeProvider,
    ILogger<Sweeper> logger) : BackgroundService
{
    private const int Batch = 500;

    // A little past the moment a worker's heartbeat ages out, so the sweep that follows finds it lost.
    private static readonly TimeSpan PastTimeout = TimeSpan.FromMilliseconds(20);

    private readonly MassSilenceGuard massSilence = new(timeProvider);

    private TimeSpan nextSweep;
    private bool holdingOff;

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

        // Wake when the stalest live worker would age out rather than up to a SweepInterval later: its orphans are
        // rescued about WorkerTimeout after its last heartbeat.
        var firstToAgeOut = nodes
            .Where(n => n.Role is NodeRole.Worker or NodeRole.Standalone && n.Age <= settings.WorkerTimeout)
            .Select(n => settings.WorkerTimeout - n.Age + PastTimeout)
            .DefaultIfEmpty(settings.SweepInterval)
            .Min();
        nextSweep = firstToAgeOut < settings.SweepInterval ? firstToAgeOut : settings.SweepInterval;

        var silence = massSilence.Judge(nodes, settings.WorkerTimeout, settings.MassSilenceHoldOff);
        if (silence.HoldOff > TimeSpan.Zero)
        {
            if (!holdingOff)
            {
                LogMassSilence(silence.Silent, silence.Workers, settings.MassSilenceHoldOff);
            }

            holdingOff = true;
            var end = silence.HoldOff + PastTimeout;
            nextSweep = end < nextSweep ? end : nextSweep;
            return;
        }

        if (holdingOff)
        {
            holdingOff = false;
            if (silence.MostSilent)
            {
                LogMassSilenceOutlasted(silence.Silent, silence.Workers, settings.MassSilenceHoldOff);
            }
        }

        var request = new RescueRequest(settings.WorkerTimeout, Batch, settings.RetryBackoff);
        RescueResult rescued;
        do
        {
            rescued = await tasks.RescueAsync(request, fence, cancellationToken);
            if (rescued.Fenced)
            {
                LogFenced(fence.Epoch);
                return;
            }

            foreach (var task in rescued.Tasks)
            {
                if (task.Status == TaskState.Failed)
                {
                    LogLostLastAttempt(task.Id, task.PreviousWorker, task.Attempt, fence.Epoch);
                }
                else
                {
                    LogRescued(task.Id, task.PreviousWorker, task.Worker, task.Attempt, fence.Epoch);
                }
            }
        }
        while (rescued.Tasks.Count == Batch);

        foreach (var silent in nodes.Where(n => n.Age > settings.WorkerTimeout))
        {
            switch (await registry.EvictAsync(silent.NodeId, settings.WorkerTimeout, fence, cancellationToken))
            {
                case EvictOutcome.Fenced:
                    LogFenced(fence.Epoch);
                    return;
                case EvictOutcome.Evicted:
                    LogEvicted(silent.NodeId, silent.Age, fence.Epoch);
                    break;
            }
        }
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "Rescued task {TaskId} from {PreviousWorker} onto {Worker} as attempt {Attempt} (epoch {Epoch})")]
    private partial void LogRescued(Guid taskId, string? previousWorker, string? worker, int attempt, long epoch);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "Evicted node {Node}, silent for {Age} and owning no active task (epoch {Epoch})")]
    private partial void LogEvicted(string node, TimeSpan age, long epoch);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Sweep fenced: epoch {Epoch} is no longer the primary's")]
    private partial void LogFenced(long epoch);

    [LoggerMessage(EventId = 503, Level = LogLevel.Warning, Message = "Task {TaskId} failed: worker {PreviousWorker} was lost during its last attempt {Attempt} (epoch {Epoch})")]
    private partial void LogLostLastAttempt(Guid taskId, string? previousWorker, int attempt, long epoch);

    [LoggerMessage(EventId = 506, Level = LogLevel.Warning, Message = "{Silent} of {Workers} workers are silent at once: suspecting the database or this primary rather than the workers, the rescue waits up to {HoldOff}")]
    private partial void LogMassSilence(int silent, int workers, TimeSpan holdOff);

    [LoggerMessage(EventId = 507, Level = LogLevel.Warning, Message = "{Silent} of {Workers} workers are still silent after {HoldOff}: rescuing their tasks")]
    private partial void LogMassSilenceOutlasted(int silent, int workers, TimeSpan holdOff);

    [LoggerMessage(EventId = 505, Level = LogLevel.Warning, Message = "Sweep failed")]
    private partial void LogSweepFailed(Exception exception);
}
