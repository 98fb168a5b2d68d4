using Microsoft.Extensions.Options;
using TaskServer.Failover;
using TaskServer.Failover.Leadership;
using TaskServer.Host.ApiDescription;
using TaskServer.Host.Auth;
using TaskServer.Host.Node;
using TaskServer.LoadManager.Routing;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Api;

/// <summary>What operators ask of a gateway: <c>GET /cluster</c>.</summary>
public static class ClusterEndpoints
{
    public static IEndpointRouteBuilder MapClusterView(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/cluster", GetAsync)
            .WithName("GetCluster")
            .WithTags(ApiDocument.ClusterTag)
            .WithSummary("The cluster as this gateway sees it")
            .WithDescription("This node, the primary lease (holder, epoch, expiry), the balancing policy, every node with its liveness and load, and the last failovers. For operators: an admin key is required.")
            .AcceptsCredentials(ApiDocument.BasicScheme, ApiDocument.BearerScheme)
            .Produces<ClusterView>()
            .ProducesProblems(ProblemType.AdminRequired, ProblemType.StorageUnavailable);
        return endpoints;
    }

    private static async Task<IResult> GetAsync(
        HttpRequest request,
        INodeRegistry registry,
        IFailoverLog failovers,
        LeadershipState leadership,
        NodeIdentity self,
        IOptions<AuthOptions> auth,
        IOptions<FailoverOptions> failover,
        IOptions<NodeOptions> node,
        IOptions<RoutingOptions> routing,
        CancellationToken cancellationToken)
    {
        if (!AdminCredentials.Present(request, auth.Value))
        {
            request.HttpContext.Response.Headers.WWWAuthenticate = "Basic realm=\"TaskServer\", charset=\"UTF-8\"";
            return Problems.AdminRequired();
        }

        var nodes = await registry.ListAsync(cancellationToken);
        var history = await failovers.ListAsync(failover.Value.LeaseName, 20, cancellationToken);
        var lease = leadership.LastSeenLease;
        var view = leadership.Current;
        return Results.Ok(new ClusterView(
            new SelfView(self.Id, self.Role.ToString(), self.Url, view.IsPrimary),
            lease is null ? null : new LeaseView(lease.Holder, lease.HolderUrl, lease.Epoch, lease.ExpiresAt, lease.Remaining.TotalMilliseconds),
            routing.Value.Policy,
            nodes.Select(n => new NodeView(
                n.NodeId,
                n.Role.ToString(),
                n.Url,
                n.Age <= node.Value.WorkerTimeout,
                Math.Round(n.Age.TotalMilliseconds),
                n.Load.Queued,
                n.Load.Running,
                n.Load.Capacity)).ToList(),
            history.Select(f => new FailoverView(
                f.OldHolder,
                f.NewHolder,
                f.Epoch,
                f.SuspectedAt,
                f.PromotedAt,
                f.TimeToDetect?.TotalMilliseconds,
                f.TimeToPromote?.TotalMilliseconds)).ToList()));
    }
}

public sealed record ClusterView(SelfView Self, LeaseView? Lease, string Policy, IReadOnlyList<NodeView> Nodes, IReadOnlyList<FailoverView> Failovers);

public sealed record SelfView(string Id, string Role, string Url, bool IsPrimary);

public sealed record LeaseView(string Holder, string HolderUrl, long Epoch, DateTimeOffset ExpiresAt, double RemainingMs);

public sealed record NodeView(string Id, string Role, string Url, bool Live, double HeartbeatAgeMs, int Queued, int Running, int Capacity);

/// <param name="TtdMs">From the last good probe of the old primary to suspecting it.</param>
/// <param name="PromotedAfterMs">From the last good probe of the old primary to holding the lease.</param>
public sealed record FailoverView(string? OldHolder, string NewHolder, long Epoch, DateTimeOffset? SuspectedAt, DateTimeOffset PromotedAt, double? TtdMs, double? PromotedAfterMs);
