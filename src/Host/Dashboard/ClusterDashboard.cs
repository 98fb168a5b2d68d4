using System.Globalization;
using Hangfire;
using Hangfire.Dashboard;
using TaskServer.Host.Cluster;

namespace TaskServer.Host.Dashboard;

/// <summary>
/// The cluster inside Hangfire's dashboard: a Cluster page with its menu item, and tiles for the primary
/// epoch and the healthy workers on the home page. Everything shown is resolved per request from the
/// request's services; Hangfire's registries only hold the code that does so.
/// </summary>
internal static class ClusterDashboard
{
    /// <summary>Under the dashboard's own path: <c>/hangfire/cluster</c>.</summary>
    public const string PagePath = "/cluster";

    public const string Title = "Cluster";

    public const string EpochMetric = "cluster:primary-epoch";

    public const string HealthyWorkersMetric = "cluster:healthy-workers";

    private static readonly Lock Registration = new();

    /// <summary>
    /// Adds the page, the menu item and the tiles to Hangfire's registries. Those are process-wide, so this
    /// adds them once per process however many hosts are built in it (the host tests build several); the
    /// route table itself records whether it has been done.
    /// </summary>
    public static void AddClusterPage()
    {
        lock (Registration)
        {
            if (DashboardRoutes.Routes.FindDispatcher(PagePath) is not null)
            {
                return;
            }

            // Only Hangfire's own page dispatcher gives a page its dashboard context (layout, menu, URLs), and
            // it is internal: a private route table makes one, which the asynchronous reader calls once the
            // view is built.
            var pages = new Hangfire.Dashboard.RouteCollection();
            pages.AddRazorPage(PagePath, _ => new ClusterPage());
            DashboardRoutes.Routes.Add(PagePath, new ClusterPageDispatcher(pages.FindDispatcher(PagePath).Item1));

            var epoch = new DashboardMetric(EpochMetric, "Primary epoch", page => EpochTile(ClusterOf(page)));
            var healthyWorkers = new DashboardMetric(HealthyWorkersMetric, "Healthy workers", page => HealthyWorkersTile(ClusterOf(page)));
            GlobalConfiguration.Configuration.UseDashboardMetrics(epoch, healthyWorkers);
            NavigationMenu.Items.Add(page => new MenuItem(Title, page.Url.To(PagePath))
            {
                Active = page.RequestPath.StartsWith(PagePath, StringComparison.OrdinalIgnoreCase),
                Metric = healthyWorkers,
            });
        }
    }

    private static ClusterViewBuilder ClusterOf(RazorPage page) =>
        page.Context.GetHttpContext().RequestServices.GetRequiredService<ClusterViewBuilder>();

    // Tiles are computed synchronously by Hangfire (and re-polled through /stats), so they read only what
    // the gateway holds in memory: the lease its agent last saw and YARP's health state.
    private static Metric EpochTile(ClusterViewBuilder cluster) =>
        cluster.Lease() is { } lease
            ? new Metric(lease.Epoch) { Style = MetricStyle.Info, Title = "Held by " + lease.Holder }
            : new Metric("none") { Style = MetricStyle.Warning, Highlighted = true, Title = "This gateway has not seen the primary lease." };

    private static Metric HealthyWorkersTile(ClusterViewBuilder cluster)
    {
        var workers = cluster.CountRoutedWorkers();
        return new Metric(string.Create(CultureInfo.InvariantCulture, $"{workers.Healthy} / {workers.Known}"))
        {
            IntValue = workers.Healthy,
            Style = workers.Healthy == 0 ? MetricStyle.Danger : workers.Healthy < workers.Known ? MetricStyle.Warning : MetricStyle.Success,
            Highlighted = workers.Healthy < workers.Known,
            Title = "Workers the balancer routes to, of those this gateway knows",
        };
    }
}
