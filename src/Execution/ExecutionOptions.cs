using System.ComponentModel.DataAnnotations;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Execution;

/// <summary>Configuration section <c>Execution</c>: attempts, retry backoff, timeouts, shutdown and payload limits.</summary>
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

    /// <summary>An attempt's timeout when the submission names none.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "7.00:00:00", ErrorMessage = "Execution:DefaultTimeout must be between 1 ms and 7 days.")]
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest timeout a submission may ask for (400 above).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "7.00:00:00", ErrorMessage = "Execution:MaxTimeout must be between 1 ms and 7 days.")]
    public TimeSpan MaxTimeout { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a handler whose attempt timed out has to stop after its token is cancelled. Past it the attempt's
    /// outcome is written without it and its slot is freed; whatever it returns later is dropped.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Execution:TimeoutGrace must be between 0 and 10 min.")]
    public TimeSpan TimeoutGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On shutdown, how long running attempts may take to finish once the worker has stopped claiming. Those still
    /// running then are cancelled and handed back (Queued, the attempt not spent) for another worker.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Execution:ShutdownGrace must be between 0 and 1 h.")]
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// On shutdown, how long the worker keeps taking intake after it has said it is leaving, so that gateways stop
    /// routing to it (their view refreshes every second) before its listener closes and no client sees an error.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Execution:DeregistrationDelay must be between 0 and 1 min.")]
    public TimeSpan DeregistrationDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often a busy worker checks for tasks Running under it that no attempt in it runs (a claim whose reply was
    /// lost) and for outcomes it could not write, and adopts them. Also done at once after a failed claim.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Execution:OrphanCheckInterval must be between 100 ms and 10 min.")]
    public TimeSpan OrphanCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest <c>sleep</c> a task may ask for, in milliseconds (400 invalid-payload above).</summary>
    [Range(0, 3_600_000, ErrorMessage = "Execution:MaxSleepMs must be between 0 and 3600000.")]
    public int MaxSleepMs { get; set; } = 60_000;

    /// <summary>The most SHA-256 rounds a <c>hash</c> task may ask for (400 invalid-payload above).</summary>
    [Range(1, 10_000_000, ErrorMessage = "Execution:MaxHashRounds must be between 1 and 10000000.")]
    public int MaxHashRounds { get; set; } = 1_000_000;

    public RetryBackoff Backoff => new(RetryBaseDelay, RetryMaxDelay);

    /// <summary>The delay before attempt <paramref name="nextAttempt"/>, jittered so retries of a burst spread out.</summary>
    public TimeSpan RetryDelay(int nextAttempt, double jitter) => Backoff.Delay(nextAttempt, jitter);
}
