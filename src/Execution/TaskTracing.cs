using System.Diagnostics;

namespace TaskServer.Execution;

/// <summary>The source of TaskServer's own spans: one per attempt of a task, in the trace of its submission.</summary>
public sealed class TaskTracing : IDisposable
{
    public const string SourceName = "TaskServer.Tasks";

    public ActivitySource Source { get; } = new(SourceName);

    /// <summary>
    /// A span for one attempt, child of the submitting request's span (<paramref name="traceParent"/>), so that
    /// retries and requeues on other workers, hours later, still belong to the task's one trace.
    /// </summary>
    public Activity? StartAttempt(Guid taskId, string? traceParent, string worker)
    {
        ActivityContext.TryParse(traceParent, null, out var parent);
        var activity = Source.StartActivity("task.attempt", ActivityKind.Consumer, parent);
        activity?.SetTag("task.id", taskId.ToString());
        activity?.SetTag("task.worker", worker);
        return activity;
    }

    public void Dispose() => Source.Dispose();
}
