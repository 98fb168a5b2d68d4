using Hangfire.Dashboard;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.Host.Dashboard;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Nodes;

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
            .AddSingleton<INodeRegistry>(new DashboardHarness.FixedRegistry(nodes))
            .AddSingleton<IFailoverLog>(new DashboardHarness.FixedFailoverLog(failovers))
            .AddDashboardServices()
            .BuildServiceProvider();
        await using var _ = services;
        return (await DashboardHarness.GetAsync(services, ClusterDashboard.PagePath)).Body;
    }
}
