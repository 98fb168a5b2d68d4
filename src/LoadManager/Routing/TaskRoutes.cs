using TaskServer.LoadManager.Balancing;
using TaskServer.StorageManager.Nodes;
using Yarp.ReverseProxy.Configuration;

namespace TaskServer.LoadManager.Routing;

/// <summary>The YARP routes and the worker cluster, built from the live nodes of the registry.</summary>
public static class TaskRoutes
{
    public const string WorkersCluster = "workers";
    public const string SubmitRoute = "submit-task";
    public const string ClusterSecretHeader = "X-Cluster-Secret";
    public const string ClientIdHeader = "X-TaskServer-Client";
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>On an answer that returns the task stored earlier under the same idempotency key.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";
    public const string ClientPolicy = "client";

    internal static IReadOnlyList<RouteConfig> Routes(RoutingOptions options) =>
    [
        new RouteConfig
        {
            RouteId = SubmitRoute,
            ClusterId = WorkersCluster,
            AuthorizationPolicy = ClientPolicy,
            Match = new RouteMatch { Path = "/tasks", Methods = ["POST"] },
            Transforms =
            [
                new Dictionary<string, string> { ["PathSet"] = "/internal/tasks" },
                new Dictionary<string, string> { ["RequestHeader"] = ClusterSecretHeader, ["Set"] = options.ClusterSecret },
            ],
        },
    ];

    internal static ClusterConfig Cluster(IEnumerable<NodeRecord> liveNodes, RoutingOptions options) => new()
    {
        ClusterId = WorkersCluster,
        LoadBalancingPolicy = options.Policy,
        HealthCheck = new HealthCheckConfig
        {
            // Active: a worker that stops answering /health/worker leaves rotation after two probes and
            // comes back after one good one. Passive: a transport failure takes it out at once, and so does a fifth
            // of its answers being 5xx (WorkerFailurePolicy).
            Active = new ActiveHealthCheckConfig
            {
                Enabled = true,
                Interval = options.HealthProbeInterval,
                Timeout = options.HealthProbeInterval,
                Policy = "ConsecutiveFailures",
                Path = "/health/worker",
            },
            Passive = new PassiveHealthCheckConfig
            {
                Enabled = true,
                Policy = WorkerFailurePolicy.PolicyName,
                ReactivationPeriod = options.HealthProbeInterval * 2,
            },
        },
        Metadata = new Dictionary<string, string>
        {
            ["ConsecutiveFailuresHealthPolicy.Threshold"] = "2",
        },
        Destinations = liveNodes
            // A quarantined worker returns results that fail verification, and a draining one is shutting down: no new
            // task goes to either (the primary's rescue excludes them too, in its own statement).
            .Where(n => n.Role is NodeRole.Worker or NodeRole.Standalone && !n.Load.Quarantined && !n.Load.Draining)
            .ToDictionary(n => n.NodeId, n => new DestinationConfig { Address = n.Url }, StringComparer.Ordinal),
    };
}
