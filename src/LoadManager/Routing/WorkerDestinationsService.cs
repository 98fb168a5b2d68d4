using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskServer.LoadManager.Balancing;
using TaskServer.StorageManager.Nodes;
using Yarp.ReverseProxy.Configuration;

namespace TaskServer.LoadManager.Routing;

/// <summary>
/// Keeps YARP's worker cluster equal to the registry's live workers: workers join and leave at run
/// time with no restart. YARP's own in-memory provider carries the snapshot and its change token.
/// </summary>
internal sealed partial class WorkerDestinationsService(
    INodeRegistry registry,
    InMemoryConfigProvider proxyConfig,
    WorkerLoadBoard board,
    IOptions<RoutingOptions> options,
    TimeProvider timeProvider,
    ILogger<WorkerDestinationsService> logger) : BackgroundService
{
    private string? current;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.RefreshInterval, timeProvider);
        do
        {
            try
            {
                await RefreshAsync(settings, stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Keep routing to the last known workers: YARP's health checks still take dead ones out.
                LogRefreshFailed(exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal async Task RefreshAsync(RoutingOptions settings, CancellationToken cancellationToken)
    {
        var live = await registry.ListLiveAsync(settings.WorkerTimeout, cancellationToken);
        var cluster = TaskRoutes.Cluster(live, settings);
        board.Update(live.Where(n => cluster.Destinations!.ContainsKey(n.NodeId)));
        var fingerprint = string.Join(',', cluster.Destinations!.Select(d => $"{d.Key}={d.Value.Address}").Order(StringComparer.Ordinal));
        if (fingerprint == current)
        {
            return;
        }

        proxyConfig.Update(TaskRoutes.Routes(settings), [cluster]);
        current = fingerprint;
        LogWorkersChanged(cluster.Destinations!.Count, fingerprint);
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Routing to {Count} workers: {Workers}")]
    private partial void LogWorkersChanged(int count, string workers);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Could not refresh the worker list from the registry")]
    private partial void LogRefreshFailed(Exception exception);
}
