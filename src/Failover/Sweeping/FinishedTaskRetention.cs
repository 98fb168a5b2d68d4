using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskServer.Failover.Leadership;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Failover.Sweeping;

/// <summary>
/// The primary's retention: every Interval, finished tasks older than FinishedTaskAge are removed in batches of
/// BatchSize until none is left. Only the lease holder deletes, so the gateways do not race each other over the
/// same rows; a deposed primary's last batch removes only what had expired anyway.
/// </summary>
internal sealed partial class FinishedTaskRetention(
    ITaskStore tasks,
    LeadershipState leadership,
    IOptions<RetentionOptions> options,
    TimeProvider timeProvider,
    ILogger<FinishedTaskRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(settings.Interval, timeProvider, stoppingToken);
            try
            {
                var removed = await RemoveExpiredAsync(settings, stoppingToken);
                if (removed > 0)
                {
                    LogRemoved(removed, settings.FinishedTaskAge);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogFailed(exception);
            }
        }
    }

    /// <summary>One round: batches while this node is primary and each batch comes back full; how many tasks went.</summary>
    internal async Task<int> RemoveExpiredAsync(RetentionOptions settings, CancellationToken cancellationToken)
    {
        var removed = 0;
        int batch;
        do
        {
            if (leadership.CurrentFence is null)
            {
                break;
            }

            batch = await tasks.DeleteFinishedBeforeAsync(settings.FinishedTaskAge, settings.BatchSize, cancellationToken);
            removed += batch;
        }
        while (batch == settings.BatchSize);

        return removed;
    }

    [LoggerMessage(EventId = 540, Level = LogLevel.Information, Message = "Retention removed {Count} tasks finished more than {Age} ago")]
    private partial void LogRemoved(int count, TimeSpan age);

    [LoggerMessage(EventId = 541, Level = LogLevel.Warning, Message = "Retention failed; it tries again next interval")]
    private partial void LogFailed(Exception exception);
}
