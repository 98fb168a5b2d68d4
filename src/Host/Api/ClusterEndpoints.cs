using Microsoft.Extensions.Options;
using TaskServer.Host.Auth;
using TaskServer.Host.Cluster;

namespace TaskServer.Host.Api;

/// <summary>What operators ask of a gateway: <c>GET /cluster</c>, the JSON rendering of <see cref="ClusterView"/>.</summary>
public static class ClusterEndpoints
{
    public static IEndpointRouteBuilder MapClusterView(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/cluster", GetAsync);
        return endpoints;
    }

    private static async Task<IResult> GetAsync(
        HttpRequest request,
        ClusterViewBuilder cluster,
        IOptions<AuthOptions> auth,
        CancellationToken cancellationToken)
    {
        if (!AdminCredentials.Present(request, auth.Value))
        {
            request.HttpContext.Response.Headers.WWWAuthenticate = "Basic realm=\"TaskServer\", charset=\"UTF-8\"";
            return Problems.AdminRequired();
        }

        return Results.Ok(await cluster.BuildAsync(cancellationToken));
    }
}
