using System.ComponentModel.DataAnnotations;

namespace TaskServer.Host.Quarantine;

/// <summary>Configuration section <c>Quarantine</c>: when a worker whose results fail verification leaves rotation, and how it comes back.</summary>
public sealed class QuarantineOptions
{
    public const string SectionName = "Quarantine";

    /// <summary>Verification failures within <see cref="Window"/> that quarantine the worker.</summary>
    [Range(1, 1000, ErrorMessage = "Quarantine:FailureThreshold must be between 1 and 1000.")]
    public int FailureThreshold { get; set; } = 3;

    /// <summary>The sliding window over which failures are counted.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Quarantine:Window must be between 1 s and 1 day.")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a quarantined worker waits between checks of its canary computations (the cool-down).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00", ErrorMessage = "Quarantine:ProbeInterval must be between 100 ms and 1 h.")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(2);
}
