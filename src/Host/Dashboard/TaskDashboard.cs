using System.Globalization;
using Hangfire;
using Hangfire.Dashboard;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Dashboard;

/// <summary>
/// Tasks inside Hangfire's dashboard, whose own pages show Hangfire jobs (tasks are not Hangfire jobs): a Tasks page (a filtered list,
/// newest first) with its menu item, a page per task, and tiles counting tasks by state on the home page. As with
/// <see cref="ClusterDashboard"/>, Hangfire's registries hold only code; what it shows is resolved per request.
/// </summary>
internal static class TaskDashboard
{
    /// <summary>Under the dashboard's own path: <c>/hangfire/tasks</c>.</summary>
    public const string ListPath = "/tasks";

    public const string IdGroup = "id";

    public const string Title = "Tasks";

    /// <summary>The tiles, one per state an operator watches.</summary>
    public static readonly IReadOnlyList<TaskState> TileStates = [TaskState.Queued, TaskState.Running, TaskState.Succeeded, TaskState.Failed];

    private static readonly Lock Registration = new();

    /// <summary>Under the dashboard's own path: <c>/hangfire/tasks/{id}</c>.</summary>
    public static string TaskPath(Guid id) => $"{ListPath}/{id}";

    public static string MetricName(TaskState state) => "tasks:" + state.ToString().ToLowerInvariant();

    /// <summary>
    /// Adds the pages, the menu item and the tiles to Hangfire's process-wide registries, once per process however
    /// many hosts are built in it; the route table records whether it has been done.
    /// </summary>
    public static void AddTaskPages()
    {
        lock (Registration)
        {
            if (DashboardRoutes.Routes.FindDispatcher(ListPath) is not null)
            {
                return;
            }

            // Hangfire's page dispatcher (internal) gives a page the dashboard's layout and menu; a private route table
            // makes one, which the asynchronous readers call once the page's data is read.
            var detailPath = ListPath + "/(?<" + IdGroup + ">[^/]+)";
            var pages = new Hangfire.Dashboard.RouteCollection();
            pages.AddRazorPage(ListPath, _ => new TasksPage());
            pages.AddRazorPage(detailPath, _ => new TaskPage());
            DashboardRoutes.Routes.Add(ListPath, new TaskListPageDispatcher(pages.FindDispatcher(ListPath).Item1));
            DashboardRoutes.Routes.Add(detailPath, new TaskDetailPageDispatcher(pages.FindDispatcher(TaskPath(Guid.Empty)).Item1));

            var tiles = TileStates.ToDictionary(state => state, state => new DashboardMetric(MetricName(state), "Tasks " + state, page => Tile(page, state)));
            GlobalConfiguration.Configuration.UseDashboardMetrics([.. tiles.Values]);
            // First in the menu: tasks are what operators come for; Hangfire's Jobs are the drains that run them.
            NavigationMenu.Items.Insert(0, page => new MenuItem(Title, page.Url.To(ListPath))
            {
                Active = page.RequestPath.StartsWith(ListPath, StringComparison.OrdinalIgnoreCase),
                Metrics = [tiles[TaskState.Queued], tiles[TaskState.Failed]],
            });
        }
    }

    /// <summary>
    /// Hangfire computes a tile synchronously on every page and poll, so it shows the last counts and never waits for
    /// the database (see <see cref="TaskCounts"/>).
    /// </summary>
    private static Metric Tile(RazorPage page, TaskState state)
    {
        var counts = page.Context.GetHttpContext().RequestServices.GetRequiredService<TaskCounts>().Peek();
        if (counts is null)
        {
            return new Metric("…") { Title = "Counting: the tile fills in at its next refresh" };
        }

        var count = counts[state];
        return new Metric(count)
        {
            Style = count == 0 ? MetricStyle.Default : state switch
            {
                TaskState.Queued => MetricStyle.Info,
                TaskState.Running => MetricStyle.Warning,
                TaskState.Succeeded => MetricStyle.Success,
                _ => MetricStyle.Danger,
            },
            Highlighted = state == TaskState.Failed && count > 0,
            Title = string.Create(
                CultureInfo.InvariantCulture,
                $"Tasks {state} as of {DashboardPage.Timestamp(counts.CountedAt)} (counted at most every {TaskCounts.RefreshInterval.TotalSeconds} s while the dashboard is open)"),
        };
    }
}
