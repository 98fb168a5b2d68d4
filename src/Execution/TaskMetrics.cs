using System.Diagnostics.Metrics;
using TaskServer.Health;

namespace TaskServer.Execution;

/// <summary>Task counters and the attempt duration histogram, per task type.</summary>
public sealed class TaskMetrics
{
    private readonly Counter<long> submitted;
    private readonly Counter<long> succeeded;
    private readonly Counter<long> failed;
    private readonly Counter<long> retried;
    private readonly Histogram<double> duration;

    public TaskMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(HealthServiceCollectionExtensions.MeterName);
        submitted = meter.CreateCounter<long>("taskserver.tasks.submitted", description: "Tasks accepted by this worker.");
        succeeded = meter.CreateCounter<long>("taskserver.tasks.succeeded", description: "Tasks that succeeded on this worker.");
        failed = meter.CreateCounter<long>("taskserver.tasks.failed", description: "Tasks that failed for good on this worker.");
        retried = meter.CreateCounter<long>("taskserver.tasks.retried", description: "Failed attempts that were scheduled again.");
        duration = meter.CreateHistogram<double>(
            "taskserver.task.duration",
            unit: "s",
            description: "How long one attempt's handler ran.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300] });
    }

    public void Submitted(string type) => submitted.Add(1, Type(type));

    public void Succeeded(string type) => succeeded.Add(1, Type(type));

    public void Failed(string type) => failed.Add(1, Type(type));

    public void Retried(string type) => retried.Add(1, Type(type));

    public void AttemptRan(string type, TimeSpan elapsed, string outcome) =>
        duration.Record(elapsed.TotalSeconds, Type(type), new KeyValuePair<string, object?>("outcome", outcome));

    private static KeyValuePair<string, object?> Type(string type) => new("type", type);
}
