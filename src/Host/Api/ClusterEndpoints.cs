using Microsoft.Extensions.Options;
using TaskServer.Host.ApiDescription;
using TaskServer.Host.Auth;
using TaskServer.Host.Cluster;

namespace TaskServer.Host.Api;

/// <summary>What operators ask of a gateway: <c>GET /cluster</c>, the JSON rendering of <see cref="ClusterView"/>.</summary>
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
            .ProducesProblems(ProblemType.AdminRequired, ProblemType.Forbidden, ProblemType.StorageUnavailable);
        return endpoints;
    }

    private static async Task<IResult> GetAsync(
        HttpRequest request,
        ClusterViewBuilder cluster,
        IOptions<AuthOptions> auth,
        CancellationToken cancellationToken)
    {
        if (AdminCredentials.Refusal(request, auth.Value) is { } refusal)
        {
            return refusal;
        }

        return Results.Ok(await cluster.BuildAsync(cancellationToken));
    }
}
