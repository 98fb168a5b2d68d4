using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace TaskServer.LoadManager.Routing;

/// <summary>Configuration section <c>LoadBalancing</c>, plus what the host fills in from its node settings.</summary>
public sealed class RoutingOptions
{
    public const string SectionName = "LoadBalancing";

    /// <summary>The policies a gateway can balance with: TaskServer's LeastLoad and YARP's own.</summary>
    public static readonly IReadOnlyList<string> Policies = ["RoundRobin", "LeastLoad", "LeastRequests", "PowerOfTwoChoices", "Random", "FirstAlphabetical"];

    /// <summary>One of <see cref="Policies"/>.</summary>
    [Required]
    public string Policy { get; set; } = "RoundRobin";

    /// <summary>
    /// A worker whose backlog (queued + running + sent since its heartbeat) reaches this many times its
    /// capacity takes no more; when every worker is there, submissions get 429.
    /// </summary>
    [Range(0.1, 10_000, ErrorMessage = "LoadBalancing:MaxBacklogPerCapacity must be between 0.1 and 10000.")]
    public double MaxBacklogPerCapacity { get; set; } = 50;

    /// <summary>How often the gateway probes each worker's /health/worker; two failures in a row take it out of rotation.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "LoadBalancing:HealthProbeInterval must be between 100 ms and 1 min.")]
    public TimeSpan HealthProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the worker list is re-read from the node registry.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "LoadBalancing:RefreshInterval must be between 100 ms and 1 min.")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Set by the host: a worker whose heartbeat is older than this is left out.</summary>
    public TimeSpan WorkerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Set by the host: sent to workers' internal endpoints.</summary>
    public string ClusterSecret { get; set; } = "";
}

internal sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions options) =>
        RoutingOptions.Policies.Contains(options.Policy, StringComparer.Ordinal)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"LoadBalancing:Policy '{options.Policy}' is not known; use one of {string.Join(", ", RoutingOptions.Policies)}.");
}
