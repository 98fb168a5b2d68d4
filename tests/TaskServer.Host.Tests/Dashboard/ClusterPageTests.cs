using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TaskServer.Failover;
using TaskServer.Failover.Leadership;
using TaskServer.Host.Cluster;
using TaskServer.Host.Dashboard;
using TaskServer.Host.Node;
using TaskServer.LoadManager.Balancing;
using TaskServer.LoadManager.Routing;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace TaskServer.Host.Tests.Dashboard;

/// <summary>
/// The Cluster page rendered through Hangfire's own route table, layout and menu, on fakes of the registry
/// and failover log: what the registry says reaches the browser as text, never as markup.
/// </summary>
public sealed class ClusterPageTests
{
    private const string Script = "<script>alert('node')</script>";
    private const string Image = "<img src=x onerror=alert(1)>";

    [Fact]
    public async Task Values_from_the_database_are_html_encoded_and_only_http_urls_become_links()
    {
        var html = await RenderAsync(
            [
                Node(Script, NodeRole.Standalone, "javascript:alert(1)"),
                Node("w1-000001", NodeRole.Worker, "http://127.0.0.1:5090\"><b>x</b>"),
            ],
            [new FailoverEvent(Guid.NewGuid(), "gateway-primary", Image, Script, 2, null, null, DateTimeOffset.UnixEpoch)]);

        Assert.DoesNotContain(Script, html, StringComparison.Ordinal);
        Assert.DoesNotContain(Image, html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>x</b>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"javascript:", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(&#39;node&#39;)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", html, StringComparison.Ordinal);
        Assert.Contains("<td data-field=\"url\">javascript:alert(1)</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_page_sits_in_the_dashboard_layout_with_its_menu_item_active()
    {
        var html = await RenderAsync([Node("w1-000001", NodeRole.Worker, "http://127.0.0.1:5090")], []);

        Assert.Contains("<title>Cluster", html, StringComparison.Ordinal);
        Assert.Matches("""<li class="active">\s*<a href="/hangfire/cluster">\s*Cluster""", html);
        Assert.Contains("This gateway has not seen the primary lease.", html, StringComparison.Ordinal);
        Assert.Contains("No failover yet.", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Registering_again_adds_nothing_to_Hangfires_process_wide_registries()
    {
        ClusterDashboard.AddClusterPage();
        var menu = NavigationMenu.Items.Count;
        var metrics = DashboardMetrics.GetMetrics().Count();

        ClusterDashboard.AddClusterPage();

        Assert.Equal(menu, NavigationMenu.Items.Count);
        Assert.Equal(metrics, DashboardMetrics.GetMetrics().Count());
        Assert.NotNull(DashboardRoutes.Routes.FindDispatcher(ClusterDashboard.PagePath));
    }

    private static NodeRecord Node(string id, NodeRole role, string url) =>
        new(id, role, url, new NodeLoad(1, 2, 8), DateTimeOffset.UnixEpoch, TimeSpan.FromMilliseconds(300));

    private static async Task<string> RenderAsync(IReadOnlyList<NodeRecord> nodes, IReadOnlyList<FailoverEvent> failovers)
    {
        ClusterDashboard.AddClusterPage();
        var services = new ServiceCollection()
            .AddSingleton<INodeRegistry>(new FixedRegistry(nodes))
            .AddSingleton<IFailoverLog>(new FixedFailoverLog(failovers))
            .AddSingleton(new LeadershipState(TimeProvider.System))
            .AddSingleton(new WorkerRouting(new NoProxyState()))
            .AddSingleton(new NodeIdentity(Options.Create(new NodeOptions { Name = "gw", Url = "http://127.0.0.1:5080" })))
            .AddSingleton(TimeProvider.System)
            .AddSingleton(Options.Create(new FailoverOptions()))
            .AddSingleton(Options.Create(new NodeOptions()))
            .AddSingleton(Options.Create(new RoutingOptions()))
            .AddSingleton<ClusterViewBuilder>()
            .BuildServiceProvider();
        await using var _ = services;
        var http = new DefaultHttpContext { RequestServices = services };
        http.Request.PathBase = "/hangfire";
        http.Request.Path = ClusterDashboard.PagePath;
        http.Response.Body = new MemoryStream();
        var context = new AspNetCoreDashboardContext(new StatisticsOnlyStorage(), new DashboardOptions(), http);
        var route = DashboardRoutes.Routes.FindDispatcher(ClusterDashboard.PagePath);
        context.UriMatch = route.Item2;

        await route.Item1.Dispatch(context);

        return Encoding.UTF8.GetString(((MemoryStream)http.Response.Body).ToArray());
    }

    private sealed class FixedRegistry(IReadOnlyList<NodeRecord> nodes) : INodeRegistry
    {
        public Task HeartbeatAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<NodeRecord>> ListAsync(CancellationToken cancellationToken) => Task.FromResult(nodes);

        public Task<IReadOnlyList<NodeRecord>> ListLiveAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.FromResult(nodes);

        public Task<EvictOutcome> EvictAsync(string nodeId, TimeSpan timeout, Fence fence, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class FixedFailoverLog(IReadOnlyList<FailoverEvent> failovers) : IFailoverLog
    {
        public Task RecordAsync(FailoverEvent failover, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<FailoverEvent>> ListAsync(string leaseName, int limit, CancellationToken cancellationToken) => Task.FromResult(failovers);
    }

    /// <summary>A gateway before its first refresh: YARP knows no worker cluster yet.</summary>
    private sealed class NoProxyState : IProxyStateLookup
    {
        public bool TryGetRoute(string id, [NotNullWhen(true)] out RouteModel? route)
        {
            route = null;
            return false;
        }

        public IEnumerable<RouteModel> GetRoutes() => [];

        public bool TryGetCluster(string id, [NotNullWhen(true)] out ClusterState? cluster)
        {
            cluster = null;
            return false;
        }

        public IEnumerable<ClusterState> GetClusters() => [];
    }

    /// <summary>The layout's menu asks Hangfire's storage for job counts; nothing else of it is used.</summary>
    private sealed class StatisticsOnlyStorage : JobStorage
    {
        public override IMonitoringApi GetMonitoringApi() => DispatchProxy.Create<IMonitoringApi, StatisticsOnlyMonitoring>();

        public override IStorageConnection GetConnection() => throw new NotSupportedException();
    }

    public class StatisticsOnlyMonitoring : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == nameof(IMonitoringApi.GetStatistics)
                ? new StatisticsDto { Retries = 0 }
                : throw new NotSupportedException(targetMethod?.Name);
    }
}
