using System.ComponentModel.DataAnnotations;

namespace TaskServer.Host.Execution;

/// <summary>Configuration section <c>Execution</c>: attempts, retry backoff and payload limits.</summary>
public sealed class ExecutionOptions
{
    public const string SectionName = "Execution";

    [Range(1, 100, ErrorMessage = "Execution:DefaultMaxAttempts must be between 1 and 100.")]
    public int DefaultMaxAttempts { get; set; } = 3;

    /// <summary>The largest maxAttempts a client may ask for.</summary>
    [Range(1, 100, ErrorMessage = "Execution:MaxAttemptsLimit must be between 1 and 100.")]
    public int MaxAttemptsLimit { get; set; } = 20;

    /// <summary>Delay before the second attempt; doubles for each further attempt, up to <see cref="RetryMaxDelay"/> (before ±20% jitter).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Execution:RetryBaseDelay must be between 0 and 1 h.")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Execution:RetryMaxDelay must be between 0 and 1 day.")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Largest request body accepted by <c>POST /tasks</c>, in bytes.</summary>
    [Range(1024, 64 * 1024 * 1024, ErrorMessage = "Execution:MaxPayloadBytes must be between 1 KiB and 64 MiB.")]
    public int MaxPayloadBytes { get; set; } = 1024 * 1024;

    /// <summary>How often a worker asks whether its longer-running attempts were cancelled or requeued (their handlers' tokens then fire).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Execution:CancellationCheckInterval must be between 100 ms and 1 min.")]
    public TimeSpan CancellationCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an enqueued drain may wait for this worker's Hangfire server to start it. Past this the drain is looked
    /// up (it may have been deleted before it ran) and enqueued again, and the worker is not ready until a drain starts:
    /// a Hangfire server that is not fetching its queue must not be sent more tasks.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Execution:DrainStartDeadline must be between 1 s and 10 min.")]
    public TimeSpan DrainStartDeadline { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest <c>sleep</c> a task may ask for, in milliseconds (400 invalid-payload above).</summary>
    [Range(0, 3_600_000, ErrorMessage = "Execution:MaxSleepMs must be between 0 and 3600000.")]
    public int MaxSleepMs { get; set; } = 60_000;

    /// <summary>The most SHA-256 rounds a <c>hash</c> task may ask for (400 invalid-payload above).</summary>
    [Range(1, 10_000_000, ErrorMessage = "Execution:MaxHashRounds must be between 1 and 10000000.")]
    public int MaxHashRounds { get; set; } = 1_000_000;

    /// <summary>The delay before attempt <paramref name="nextAttempt"/>, with ±20% jitter so retries of a burst spread out.</summary>
    public TimeSpan RetryDelay(int nextAttempt, double jitter)
    {
        var exponent = Math.Clamp(nextAttempt - 2, 0, 30);
        var delay = Math.Min(RetryBaseDelay.TotalMilliseconds * Math.Pow(2, exponent), RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(delay * (0.8 + (0.4 * Math.Clamp(jitter, 0, 1))));
    }
}
