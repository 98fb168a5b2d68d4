using System.Security.Cryptography;
using System.Text;

namespace TaskServer.StorageManager.Tasks;

/// <summary>What a worker persists when it accepts a task: attempt 1, <see cref="TaskState.Queued"/>, owned by <see cref="Worker"/>.</summary>
public sealed record NewTask
{
    public required Guid Id { get; init; }
    public required string Type { get; init; }
    public required string Payload { get; init; }
    public required int MaxAttempts { get; init; }
    public required string Worker { get; init; }
    public required Guid AttemptToken { get; init; }
    public string? IdempotencyKey { get; init; }

    /// <summary>How long one attempt may run before its handler is cancelled and the attempt fails as timed out.</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>The client whose key submitted the task: only it (and operators) may read or cancel the task.</summary>
    public string? Owner { get; init; }

    /// <summary>The W3C <c>traceparent</c> of the request that submitted the task: every attempt joins that trace.</summary>
    public string? TraceParent { get; init; }

    /// <summary>
    /// Fingerprint of what the client asked for, compared when an idempotency key is reused:
    /// the same key with another request is a conflict, not a second task.
    /// </summary>
    public string PayloadHash => Fingerprint(Type, Payload, MaxAttempts);

    public static string Fingerprint(string type, string payload, int maxAttempts)
    {
        var text = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{type}\n{maxAttempts}\n{payload}");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}

public enum CreateOutcome
{
    Created,
    /// <summary>The idempotency key was used before with the same request: the stored task is returned.</summary>
    Existing,
    /// <summary>The idempotency key was used before with a different request: nothing was written.</summary>
    IdempotencyConflict,
}

public sealed record CreateResult(CreateOutcome Outcome, TaskRecord Task);
