using System.ComponentModel.DataAnnotations;

namespace TaskServer.LoadManager.Routing;

/// <summary>Configuration section <c>LoadBalancing</c>, plus what the host fills in from its node settings.</summary>
public sealed class RoutingOptions
{
    public const string SectionName = "LoadBalancing";

    /// <summary>YARP policy name: RoundRobin, LeastRequests, PowerOfTwoChoices, Random, FirstAlphabetical.</summary>
    [Required]
    public string Policy { get; set; } = "RoundRobin";

    /// <summary>How often the worker list is re-read from the node registry.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "LoadBalancing:RefreshInterval must be between 100 ms and 1 min.")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Set by the host: a worker whose heartbeat is older than this is left out.</summary>
    public TimeSpan WorkerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Set by the host: sent to workers' internal endpoints.</summary>
    public string ClusterSecret { get; set; } = "";
}
