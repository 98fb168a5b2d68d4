using System.Diagnostics;
using System.Text.Json;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Api;

/// <summary>A task as clients see it.</summary>
/// <param name="Status">Queued, Running, Succeeded, Failed or Cancelled.</param>
/// <param name="Attempt">The current (or last) attempt, from 1.</param>
/// <param name="Worker">The worker that owns the task.</param>
/// <param name="Payload">The task's input, as submitted; in listings only with <c>include=payload</c>.</param>
/// <param name="Result">The handler's result once Succeeded; in listings only with <c>include=result</c>.</param>
/// <param name="Error">Why the last attempt failed.</param>
/// <param name="TraceId">The W3C trace id of the submission, which every attempt's span joins; null when it was not traced.</param>
public sealed record TaskView(
    Guid Id,
    string Type,
    string Status,
    int Attempt,
    int MaxAttempts,
    string? Worker,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    JsonElement? Payload,
    JsonElement? Result,
    string? Error,
    string? TraceId)
{
    public static TaskView From(TaskRecord task) => From(task, payload: true, result: true);

    /// <summary>The task, leaving out its payload and result unless asked: a page of summaries stays small.</summary>
    public static TaskView From(TaskRecord task, bool payload, bool result) => new(
        task.Id,
        task.Type,
        task.Status.ToString(),
        task.Attempt,
        task.MaxAttempts,
        task.Worker,
        task.CreatedAt,
        task.StartedAt,
        task.FinishedAt,
        payload ? Parse(task.Payload) : null,
        result && task.Result is not null ? Parse(task.Result) : null,
        task.Error,
        task.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, out var context) ? context.TraceId.ToHexString() : null);

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}

/// <summary>One page of <c>GET /tasks</c>.</summary>
/// <param name="Next">The <c>after</c> value for the next page; null at the end.</param>
public sealed record TaskPage(IReadOnlyList<TaskView> Items, Guid? Next);
