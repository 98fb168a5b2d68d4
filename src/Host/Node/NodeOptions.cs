using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using TaskServer.Host.Auth;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Node;

/// <summary>Configuration section <c>Node</c>: what this process is and how others reach it.</summary>
public sealed class NodeOptions
{
    public const string SectionName = "Node";

    public NodeRole Role { get; set; } = NodeRole.Standalone;

    /// <summary>Readable name; the node's identity adds a per-process suffix (see <see cref="NodeIdentity"/>).</summary>
    [Required]
    [RegularExpression("^[a-z0-9][a-z0-9-]{0,40}$", ErrorMessage = "Node:Name must be 1-41 lower-case letters, digits or '-'.")]
    public string Name { get; set; } = "node";

    /// <summary>The URL other nodes use to reach this one, e.g. http://127.0.0.1:5090.</summary>
    [Required(ErrorMessage = "Node:Url is required: the URL other nodes use to reach this one.")]
    [Url(ErrorMessage = "Node:Url must be an absolute http(s) URL.")]
    public string Url { get; set; } = "";

    /// <summary>
    /// Where gateways reach this node's worker intake (<c>/internal/*</c>), e.g. http://10.0.0.5:6090: a listener of its
    /// own, which the node must also listen on (<c>--urls</c>, <c>ASPNETCORE_HTTP_PORTS</c> or Kestrel endpoints) and which
    /// is not published to clients. Required on nodes that run a worker; the intake answers nowhere else.
    /// </summary>
    [Url(ErrorMessage = "Node:InternalUrl must be an absolute http(s) URL.")]
    public string? InternalUrl { get; set; }

    /// <summary>Shared by every node; gateways present it to workers' internal endpoints.</summary>
    [Required(ErrorMessage = "Node:ClusterSecret is required.")]
    [MinLength(16, ErrorMessage = "Node:ClusterSecret must be at least 16 characters.")]
    public string ClusterSecret { get; set; } = "";

    /// <summary>Tasks a worker runs at once (Hangfire worker threads).</summary>
    [Range(1, 1000, ErrorMessage = "Node:Capacity must be between 1 and 1000.")]
    public int Capacity { get; set; } = 20;

    /// <summary>How often a worker writes its heartbeat and load.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Node:HeartbeatInterval must be between 100 ms and 1 min.")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A node whose heartbeat is older than this is not live (not routed to; swept when the sweeper runs).</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00", ErrorMessage = "Node:WorkerTimeout must be between 500 ms and 10 min.")]
    public TimeSpan WorkerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public bool RunsGateway => Role is NodeRole.Gateway or NodeRole.Standalone;

    public bool RunsWorker => Role is NodeRole.Worker or NodeRole.Standalone;
}

internal sealed class NodeOptionsValidator(IHostEnvironment environment) : IValidateOptions<NodeOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeOptions options)
    {
        var failures = new List<string>();
        if (options.RunsWorker && string.IsNullOrEmpty(options.InternalUrl))
        {
            failures.Add("Node:InternalUrl is required on a node that runs a worker: gateways reach its intake there, apart from the client port.");
        }

        if (Uri.TryCreate(options.InternalUrl, UriKind.Absolute, out var internalUrl) && Uri.TryCreate(options.Url, UriKind.Absolute, out var url) && internalUrl.Port == url.Port)
        {
            failures.Add("Node:InternalUrl must use another port than Node:Url: the intake is told apart by the port a request arrives on.");
        }

        if (!environment.IsDevelopment() && AuthOptionsValidator.IsDemoValue(options.ClusterSecret))
        {
            failures.Add($"Node:ClusterSecret contains '{AuthOptions.DemoMarker}': demo values are refused outside Development. Generate a real secret.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
