using System.Collections;
using System.Collections.Immutable;

namespace TaskServer.StorageManager.Tasks;

/// <summary>One task as stored. Only the store creates these; every change goes through a <see cref="TaskTransition"/>.</summary>
public sealed record TaskRecord
{
    public required Guid Id { get; init; }
    public required string Type { get; init; }
    /// <summary>The payload as JSON text.</summary>
    public required string Payload { get; init; }
    public required TaskState Status { get; init; }
    /// <summary>1 for the first attempt; rises on every retry and on every rescue of a running task from a lost worker.</summary>
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
    /// <summary>How long one attempt may run before its handler is cancelled and the attempt fails as timed out.</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>The client whose key submitted the task; null for tasks stored before owners were recorded.</summary>
    public string? Owner { get; init; }

    /// <summary>When a Queued task may be claimed: its creation, or the end of a retry's backoff.</summary>
    public DateTimeOffset? DueAt { get; init; }

    /// <summary>The attempts that ended without success, oldest first (the current attempt is described by the task itself).</summary>
    public AttemptHistory History { get; init; } = AttemptHistory.Empty;

    /// <summary>The W3C <c>traceparent</c> of the submitting request, when it was traced.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>One attempt that ended without success: retried, failed for good, or lost with its worker.</summary>
public sealed record AttemptRecord(int Attempt, string? Worker, string Outcome, string? Error, DateTimeOffset EndedAt)
{
    public const string Retried = "retried";
    public const string Failed = "failed";
    /// <summary>Its worker was lost while it ran (crashed, partitioned, or silent past the worker timeout).</summary>
    public const string Lost = "lost";
}

/// <summary>A task's ended attempts, compared by content so that two reads of one task are equal records.</summary>
public sealed class AttemptHistory(IEnumerable<AttemptRecord> attempts) : IReadOnlyList<AttemptRecord>, IEquatable<AttemptHistory>
{
    private readonly ImmutableArray<AttemptRecord> attempts = [.. attempts];

    public static AttemptHistory Empty { get; } = new([]);

    public int Count => attempts.Length;

    public AttemptRecord this[int index] => attempts[index];

    public IEnumerator<AttemptRecord> GetEnumerator() => ((IEnumerable<AttemptRecord>)attempts).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(AttemptHistory? other) => other is not null && attempts.SequenceEqual(other.attempts);

    public override bool Equals(object? obj) => Equals(obj as AttemptHistory);

    public override int GetHashCode() => attempts.Length == 0 ? 0 : HashCode.Combine(attempts.Length, attempts[^1]);
}
