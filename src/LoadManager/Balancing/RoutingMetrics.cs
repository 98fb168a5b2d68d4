using System.Diagnostics.Metrics;

namespace TaskServer.LoadManager.Balancing;

/// <summary>Proxy requests per destination, and every live worker's reported queue depth and running count.</summary>
public sealed class RoutingMetrics
{
    private readonly Counter<long> proxied;

    public RoutingMetrics(IMeterFactory meters, WorkerLoadBoard board)
    {
        var meter = meters.Create(MeterName);
        proxied = meter.CreateCounter<long>("taskserver.proxy.requests", description: "Submissions forwarded by this gateway, per worker.");
        meter.CreateObservableGauge("taskserver.worker.queued", () => Measure(board, load => load.Queued), description: "Tasks waiting on each worker, as last reported.");
        meter.CreateObservableGauge("taskserver.worker.running", () => Measure(board, load => load.Running), description: "Tasks running on each worker, as last reported.");
    }

    /// <summary>Same name as the Health module's meter: one TaskServer meter for every module.</summary>
    public const string MeterName = "TaskServer";

    public void RecordProxied(string workerId) => proxied.Add(1, new KeyValuePair<string, object?>("destination", workerId));

    private static IEnumerable<Measurement<int>> Measure(WorkerLoadBoard board, Func<StorageManager.Nodes.NodeLoad, int> value) =>
        board.Loads.Select(entry => new Measurement<int>(value(entry.Value), new KeyValuePair<string, object?>("worker", entry.Key)));
}
