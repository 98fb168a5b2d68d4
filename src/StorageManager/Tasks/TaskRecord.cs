namespace TaskServer.StorageManager.Tasks;

/// <summary>One task as stored. Only the store creates these; every change goes through a <see cref="TaskTransition"/>.</summary>
public sealed record TaskRecord
{
    public required Guid Id { get; init; }
    public required string Type { get; init; }
    /// <summary>The payload as JSON text.</summary>
    public required string Payload { get; init; }
    public required TaskState Status { get; init; }
    /// <summary>1 for the first attempt; rises on every retry and on every requeue of a running task.</summary>
    public required int Attempt { get; init; }
    /// <summary>Identifies the current attempt: a write carrying an older token is rejected.</summary>
    public required Guid AttemptToken { get; init; }
    public required int MaxAttempts { get; init; }
    public string? Worker { get; init; }
    public string? IdempotencyKey { get; init; }
    public string? PayloadHash { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>The handler's result as JSON text.</summary>
    public string? Result { get; init; }
    public string? Error { get; init; }
    /// <summary>The Hangfire job that runs the current attempt; null until it is enqueued.</summary>
    public string? JobId { get; init; }

    /// <summary>The W3C <c>traceparent</c> of the submitting request, when it was traced.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The client that submitted the task; null for tasks stored before owners were recorded.</summary>
    public string? Owner { get; init; }
}
