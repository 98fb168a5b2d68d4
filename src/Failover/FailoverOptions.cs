using Microsoft.Extensions.Options;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Failover;

/// <summary>Configuration section <c>Failover</c>. The defaults are DESIGN.md's; docs/ARCHITECTURE.md says what they trade.</summary>
public sealed class FailoverOptions
{
    public const string SectionName = "Failover";

    /// <summary>The lease whose holder is the primary gateway.</summary>
    public string LeaseName { get; set; } = "gateway-primary";

    /// <summary>How often a backup probes the primary's /health/primary.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A probe that takes longer got no answer: no evidence either way (a busy live primary is slow too).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How often a backup whose probes find the primary re-reads the lease. It also reads it after any probe that did
    /// not, and when the lease it last read may have expired.
    /// </summary>
    public TimeSpan LeaseReadInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Probes in a row that found the primary down (connection refused or reset, or an answer that it is not the
    /// primary) before it is suspected. A probe without an answer within ProbeTimeout does not count.
    /// </summary>
    public int FailureThreshold { get; set; } = 3;

    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the primary sweeps when nothing triggers it sooner.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Set by the host from <c>Node:WorkerTimeout</c>: a worker silent this long is dead.</summary>
    public TimeSpan WorkerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When more than half of the workers are silent at once, how long the rescue waits for their heartbeats before it
    /// believes them dead (a stalled database silences everyone). Zero turns the guard off.
    /// </summary>
    public TimeSpan MassSilenceHoldOff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Set by the host from <c>Execution:RetryBaseDelay</c> and <c>RetryMaxDelay</c>: the backoff before a lost attempt's successor.</summary>
    public RetryBackoff RetryBackoff { get; set; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    /// <summary>Set by the host: this gateway's registry id and URL.</summary>
    public string NodeId { get; set; } = "";

    public string NodeUrl { get; set; } = "";
}

internal sealed class FailoverOptionsValidator : IValidateOptions<FailoverOptions>
{
    public ValidateOptionsResult Validate(string? name, FailoverOptions options)
    {
        var failures = new List<string>();
        Check(options.ProbeInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), "Failover:ProbeInterval", failures);
        Check(options.ProbeTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), "Failover:ProbeTimeout", failures);
        Check(options.LeaseReadInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), "Failover:LeaseReadInterval", failures);
        Check(options.LeaseTtl, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5), "Failover:LeaseTtl", failures);
        Check(options.RenewInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), "Failover:RenewInterval", failures);
        Check(options.SweepInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), "Failover:SweepInterval", failures);
        Check(options.MassSilenceHoldOff, TimeSpan.Zero, TimeSpan.FromMinutes(10), "Failover:MassSilenceHoldOff", failures);
        if (options.FailureThreshold is < 1 or > 100)
        {
            failures.Add($"Failover:FailureThreshold must be between 1 and 100 (was {options.FailureThreshold}).");
        }

        if (options.RenewInterval * 2 > options.LeaseTtl)
        {
            failures.Add($"Failover:RenewInterval ({options.RenewInterval}) must be at most half of Failover:LeaseTtl ({options.LeaseTtl}), so one lost renewal does not lose the lease.");
        }

        if (string.IsNullOrWhiteSpace(options.LeaseName))
        {
            failures.Add("Failover:LeaseName is required.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(TimeSpan value, TimeSpan min, TimeSpan max, string setting, List<string> failures)
    {
        if (value < min || value > max)
        {
            failures.Add($"{setting} must be between {min} and {max} (was {value}).");
        }
    }
}
