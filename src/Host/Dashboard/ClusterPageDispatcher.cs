using Hangfire.Dashboard;
using TaskServer.Host.Cluster;

namespace TaskServer.Host.Dashboard;

/// <summary>
/// Builds the cluster view before Hangfire renders the page: Hangfire pages render synchronously and the
/// view needs the database. The view reaches the page on the request's features, so nothing outlives the
/// request. Hangfire has checked the dashboard's authorization before calling this.
/// </summary>
internal sealed class ClusterPageDispatcher(IDashboardDispatcher render) : IDashboardDispatcher
{
    public async Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var view = await http.RequestServices.GetRequiredService<ClusterViewBuilder>().BuildAsync(http.RequestAborted);
        http.Features.Set(view);
        // The page rewrites itself every few seconds; a cached copy would freeze it.
        http.Response.Headers.CacheControl = "no-store";
        await render.Dispatch(context);
    }
}
