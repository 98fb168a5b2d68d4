using System.Text.Json;

namespace TaskServer.Client;

/// <summary>A task as the server reports it; <see cref="TraceId"/> finds its trace (submission and every attempt).</summary>
public sealed record TaskInfo(
    Guid Id,
    string Type,
    string Status,
    int Attempt,
    int MaxAttempts,
    string? Worker,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    JsonElement Payload,
    JsonElement? Result,
    string? Error,
    string? TraceId = null)
{
    public bool IsFinal => Status is "Succeeded" or "Failed" or "Cancelled";
}

public sealed record TaskPage(IReadOnlyList<TaskInfo> Items, Guid? Next);

/// <summary>The server refused a call for good (a problem+json that retrying cannot change), or retries ran out.</summary>
public sealed class TaskServerException(int status, string? problemType, string message) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>The problem's stable type, e.g. <c>urn:taskserver:problem:unknown-task-type</c>.</summary>
    public string? ProblemType { get; } = problemType;
}
