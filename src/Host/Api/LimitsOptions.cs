using System.ComponentModel.DataAnnotations;

namespace TaskServer.Host.Api;

/// <summary>Configuration section <c>Limits</c>: per-client rate limits and how long a request may take.</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>Rate-limit each client (by its key) on the task API; false turns it off.</summary>
    public bool RateLimitEnabled { get; set; } = true;

    /// <summary>
    /// Requests per second a client may sustain (a token bucket refilled every second). The default keeps one client
    /// from crowding out the others without being what bounds a busy client on a small cluster (two cores run more
    /// than 1,000 tasks/s in the bench, README "Measured here"); set it to what each client is entitled to.
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "Limits:PermitsPerSecond must be between 1 and 1000000.")]
    public int PermitsPerSecond { get; set; } = 5000;

    /// <summary>Requests a client may make at once above the sustained rate (the bucket's size).</summary>
    [Range(1, 1_000_000, ErrorMessage = "Limits:Burst must be between 1 and 1000000.")]
    public int Burst { get; set; } = 10_000;

    /// <summary>A request still running after this long is cancelled and answered 504 request-timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Limits:RequestTimeout must be between 1 s and 1 h.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
