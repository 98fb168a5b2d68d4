using System.Text.Json;
using System.Text.Json.Nodes;

namespace TaskServer.Execution;

/// <summary>Runs one task type. Registered through DI with <c>AddTaskHandler&lt;T&gt;()</c>; the type name is what clients send.</summary>
public interface ITaskHandler
{
    string Type { get; }

    /// <summary>Checks a payload before the task is accepted: an error message for the client, or null.</summary>
    string? Validate(JsonElement payload);

    /// <summary>Runs one attempt. Throwing fails the attempt (retried while attempts remain); the result is stored as JSON.</summary>
    Task<JsonNode?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken);
}

/// <param name="AttemptToken">
/// Names this attempt: a new one for every attempt, so it also serves as an idempotency key for the attempt's side
/// effects. <see cref="Guid.Empty"/> for a run that is no task's attempt (a quarantine canary).
/// </param>
public sealed record TaskExecutionContext(Guid TaskId, int Attempt, int MaxAttempts, JsonElement Payload, Guid AttemptToken = default);

/// <summary>A failure a handler reports in its own words: the task's error is the message alone, without the exception's type.</summary>
public sealed class TaskHandlerException(string message) : Exception(message);
