using System.Reflection;
using System.Text.Json;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using Hangfire.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TaskServer.Host.Dashboard;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.PostgreSql;
using TaskServer.StorageManager.Tasks;
using TaskServer.Testing;

namespace TaskServer.Host.Tests.Dashboard;

/// <summary>
/// The Tasks page, a task's page and the task tiles, rendered through Hangfire's own route table, layout and menu
/// from a real PostgreSQL task table.
/// </summary>
public sealed class TaskPagesTests
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private static readonly DateTimeOffset Epoch = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task The_list_is_newest_first_and_filters_by_status_and_type()
    {
        await using var table = await TaskTable.CreateAsync();
        var first = await table.QueuedAsync("echo", 1);
        var succeeded = await table.SucceededAsync("echo", 2);
        var failed = await table.FailedAsync("fail", 3, "boom");
        var last = await table.QueuedAsync("echo", 4);
        await using var dashboard = table.Dashboard();

        var all = await PageAsync(dashboard, TaskDashboard.ListPath);
        Assert.Equal([last, failed, succeeded, first], TaskIds(all));
        Assert.Matches("""<li class="active">\s*<a href="/hangfire/tasks">\s*Tasks""", all.Source.Text);
        Assert.Null(all.GetElementById("tasks-older"));
        Assert.Null(all.GetElementById("tasks-newest"));
        var failedRow = Row(all, failed);
        Assert.Equal("Failed", Field(failedRow, "status"));
        Assert.Equal("fail", Field(failedRow, "type"));
        Assert.Equal("2 of 2", Field(failedRow, "attempt"));
        Assert.Equal("w-fail", Field(failedRow, "worker"));
        Assert.Equal("boom 2", Field(failedRow, "error"));
        Assert.Equal($"/hangfire/tasks/{failed}", failedRow.QuerySelector("[data-field='id'] a")!.GetAttribute("href"));

        Assert.Equal([failed], TaskIds(await PageAsync(dashboard, TaskDashboard.ListPath, "?status=Failed")));
        Assert.Equal([last, succeeded, first], TaskIds(await PageAsync(dashboard, TaskDashboard.ListPath, "?type=echo")));
        Assert.Equal([last, first], TaskIds(await PageAsync(dashboard, TaskDashboard.ListPath, "?status=queued&type=echo")));
        var none = await PageAsync(dashboard, TaskDashboard.ListPath, "?type=sleep");
        Assert.Equal("No task matches.", none.GetElementById("tasks")!.TextContent);
    }

    [Fact]
    public async Task Pages_go_to_older_tasks_by_id_until_the_oldest_and_back_to_the_newest()
    {
        await using var table = await TaskTable.CreateAsync();
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await table.QueuedAsync("echo", i));
        }

        ids.Reverse();
        await using var dashboard = table.Dashboard();

        var first = await PageAsync(dashboard, TaskDashboard.ListPath, "?type=echo&limit=2");
        Assert.Equal(ids[..2], TaskIds(first));
        Assert.Null(first.GetElementById("tasks-newest"));
        var second = await FollowAsync(dashboard, first, "tasks-older");
        Assert.Equal(ids[2..4], TaskIds(second));
        var third = await FollowAsync(dashboard, second, "tasks-older");
        Assert.Equal(ids[4..], TaskIds(third));
        Assert.Null(third.GetElementById("tasks-older"));
        Assert.Equal(ids[..2], TaskIds(await FollowAsync(dashboard, third, "tasks-newest")));
    }

    [Fact]
    public async Task A_failed_task_shows_its_attempts_error_timeout_and_trace()
    {
        await using var table = await TaskTable.CreateAsync();
        var failed = await table.FailedAsync("fail", 1, "boom");
        var succeeded = await table.SucceededAsync("echo", 2);
        await using var dashboard = table.Dashboard();

        var page = await PageAsync(dashboard, TaskDashboard.TaskPath(failed));

        var task = page.GetElementById("task")!;
        Assert.Equal("Failed", Field(task, "status"));
        Assert.Equal("fail", Field(task, "type"));
        Assert.Equal("2 of 2", Field(task, "attempt"));
        Assert.Equal("w-fail", Field(task, "worker"));
        Assert.Equal("PT1M30S", Field(task, "timeout"));
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", Field(task, "trace-id"));
        Assert.Equal("boom 2", Field(page.DocumentElement, "error"));
        Assert.Equal("""{"n": 1}""", Field(page.DocumentElement, "payload"));
        Assert.Null(page.QuerySelector("[data-field='result']"));
        var history = page.QuerySelectorAll("#task-history tbody tr");
        Assert.Equal(2, history.Length);
        Assert.Equal(["1", "w-fail", "retried", "boom 1"], HistoryRow(history[0]));
        Assert.Equal(["2", "w-fail", "failed", "boom 2"], HistoryRow(history[1]));

        var done = await PageAsync(dashboard, TaskDashboard.TaskPath(succeeded));
        Assert.Equal("Succeeded", Field(done.GetElementById("task")!, "status"));
        Assert.Equal("""{"ok": true}""", Field(done.DocumentElement, "result"));
        Assert.Equal("No attempt has ended without success.", done.GetElementById("task-history")!.TextContent);

        var (status, missing) = await DashboardHarness.GetAsync(dashboard, TaskDashboard.TaskPath(Guid.CreateVersion7()));
        Assert.Equal(404, status);
        Assert.Contains("There is no task", Parse(missing).GetElementById("task-problem")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Values_from_the_task_table_are_html_encoded()
    {
        const string Script = "<script>alert('x')</script>";
        const string Image = "<img src=x onerror=alert(1)>";
        await using var table = await TaskTable.CreateAsync();
        var id = await table.FailedAsync(Script, 1, Script, payload: JsonSerializer.Serialize(new { html = Image }));
        await using var dashboard = table.Dashboard();

        var list = (await DashboardHarness.GetAsync(dashboard, TaskDashboard.ListPath, "?type=" + Uri.EscapeDataString("\">" + Script))).Body;
        var all = (await DashboardHarness.GetAsync(dashboard, TaskDashboard.ListPath)).Body;
        var detail = (await DashboardHarness.GetAsync(dashboard, TaskDashboard.TaskPath(id))).Body;

        foreach (var html in new[] { list, all, detail })
        {
            Assert.DoesNotContain(Script, html, StringComparison.Ordinal);
            Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        }

        Assert.Contains("value=\"&quot;&gt;&lt;script&gt;", list, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; 2", all, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", detail, StringComparison.Ordinal);
        var page = Parse(detail);
        Assert.Equal(Script, Field(page.GetElementById("task")!, "type"));
        Assert.Equal(Script + " 2", Field(page.DocumentElement, "error"));
    }

    [Theory]
    [InlineData("?status=Bogus", "Unknown status \"Bogus\"")]
    [InlineData("?status=3", "Unknown status \"3\"")]
    [InlineData("?after=not-an-id", "\"not-an-id\" is not a task id")]
    [InlineData("?limit=0", "The page size \"0\"")]
    [InlineData("?limit=201", "The page size \"201\"")]
    [InlineData("?limit=ten", "The page size \"ten\"")]
    public async Task A_filter_that_means_nothing_is_answered_400_and_the_page_says_why(string query, string problem)
    {
        TaskDashboard.AddTaskPages();
        await using var dashboard = new ServiceCollection().AddDashboardServices().BuildServiceProvider();

        var (status, html) = await DashboardHarness.GetAsync(dashboard, TaskDashboard.ListPath, query);

        Assert.Equal(400, status);
        var page = Parse(html);
        Assert.StartsWith(problem, page.GetElementById("tasks-problem")!.TextContent, StringComparison.Ordinal);
        Assert.Null(page.GetElementById("tasks"));
        Assert.NotNull(page.GetElementById("tasks-filter"));
    }

    [Theory]
    [InlineData("not-a-task")]
    [InlineData("<img src=x onerror=alert(1)>")]
    public async Task A_path_that_names_no_task_is_answered_400_as_text(string id)
    {
        TaskDashboard.AddTaskPages();
        await using var dashboard = new ServiceCollection().AddDashboardServices().BuildServiceProvider();

        var (status, html) = await DashboardHarness.GetAsync(dashboard, TaskDashboard.ListPath + "/" + id);

        Assert.Equal(400, status);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        var page = Parse(html);
        Assert.Equal($"\"{id}\" is not a task id.", page.GetElementById("task-problem")!.TextContent);
        Assert.StartsWith("Task " + id, page.Title, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tiles_serve_the_last_counts_and_count_only_when_looked_at_at_most_once_per_interval()
    {
        await using var table = await TaskTable.CreateAsync();
        await table.QueuedAsync("echo", 1);
        await table.QueuedAsync("echo", 2);
        await table.RunningAsync("sleep", 3);
        await table.SucceededAsync("echo", 4);
        await table.FailedAsync("fail", 5, "boom");
        var store = CountingTaskStore.Wrap(table.Store);
        var time = new FakeTimeProvider(Epoch);
        await using var dashboard = table.Dashboard(store, time);
        Assert.Equal(0, ((CountingTaskStore)(object)store).Counts);

        var tiles = await TilesWhenAsync(dashboard, tiles => tiles["tasks:queued"].GetProperty("value").GetString() == "2");

        Assert.Equal("1", tiles["tasks:running"].GetProperty("value").GetString());
        Assert.Equal("1", tiles["tasks:succeeded"].GetProperty("value").GetString());
        Assert.Equal("1", tiles["tasks:failed"].GetProperty("value").GetString());
        Assert.True(tiles["tasks:failed"].GetProperty("highlighted").GetBoolean());
        Assert.Equal("danger", tiles["tasks:failed"].GetProperty("style").GetString());
        Assert.Equal(1, ((CountingTaskStore)(object)store).Counts);

        await table.QueuedAsync("echo", 6);
        for (var poll = 0; poll < 5; poll++)
        {
            Assert.Equal("2", (await PollTilesAsync(dashboard))["tasks:queued"].GetProperty("value").GetString());
        }

        Assert.Equal(1, ((CountingTaskStore)(object)store).Counts);

        time.Advance(TaskCounts.RefreshInterval);
        await TilesWhenAsync(dashboard, tiles => tiles["tasks:queued"].GetProperty("value").GetString() == "3");
        Assert.Equal(2, ((CountingTaskStore)(object)store).Counts);
    }

    [Fact]
    public void Registering_again_adds_nothing_to_Hangfires_process_wide_registries()
    {
        TaskDashboard.AddTaskPages();
        var menu = NavigationMenu.Items.Count;
        var metrics = DashboardMetrics.GetMetrics().Select(metric => metric.Name).ToList();

        TaskDashboard.AddTaskPages();

        Assert.Equal(menu, NavigationMenu.Items.Count);
        Assert.Equal(metrics, DashboardMetrics.GetMetrics().Select(metric => metric.Name));
        Assert.Subset(metrics.ToHashSet(), TaskDashboard.TileStates.Select(TaskDashboard.MetricName).ToHashSet());
    }

    private static async Task<Dictionary<string, JsonElement>> TilesWhenAsync(IServiceProvider dashboard, Func<Dictionary<string, JsonElement>, bool> condition) =>
        await Eventually.ReturnsAsync(
            async () =>
            {
                var tiles = await PollTilesAsync(dashboard);
                return condition(tiles) ? tiles : null;
            },
            Deadline,
            "the task tiles to show the counts");

    private static async Task<Dictionary<string, JsonElement>> PollTilesAsync(IServiceProvider dashboard)
    {
        var (status, json) = await DashboardHarness.PollStatsAsync(dashboard, TaskDashboard.TileStates.Select(TaskDashboard.MetricName));
        Assert.Equal(200, status);
        return JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;
    }

    private static async Task<IDocument> PageAsync(IServiceProvider dashboard, string path, string query = "")
    {
        var (status, html) = await DashboardHarness.GetAsync(dashboard, path, query);
        Assert.Equal(200, status);
        return Parse(html);
    }

    /// <summary>Follows a pager link as a browser would (its href is under the dashboard's path).</summary>
    private static Task<IDocument> FollowAsync(IServiceProvider dashboard, IDocument page, string link)
    {
        var href = page.GetElementById(link)!.GetAttribute("href")!;
        Assert.StartsWith("/hangfire" + TaskDashboard.ListPath + "?", href, StringComparison.Ordinal);
        var query = href.IndexOf('?', StringComparison.Ordinal);
        return PageAsync(dashboard, TaskDashboard.ListPath, href[query..]);
    }

    private static IDocument Parse(string html) => new HtmlParser().ParseDocument(html);

    private static List<Guid> TaskIds(IDocument page) =>
        [.. page.QuerySelectorAll("#tasks tbody tr").Select(row => Guid.Parse(row.GetAttribute("data-task")!))];

    private static IElement Row(IDocument page, Guid id) => page.QuerySelector($"#tasks tr[data-task='{id}']")!;

    private static string Field(IElement scope, string field) => scope.QuerySelector($"[data-field='{field}']")!.TextContent;

    private static string[] HistoryRow(IElement row) =>
        [Field(row, "attempt"), Field(row, "worker"), Field(row, "outcome"), Field(row, "error")];

    /// <summary>A throwaway database with the task schema, and tasks put in each state through the store's own moves.</summary>
    private sealed class TaskTable : IAsyncDisposable
    {
        private readonly PostgresDatabase database;
        private readonly ServiceProvider storage;

        private TaskTable(PostgresDatabase database, ServiceProvider storage)
        {
            this.database = database;
            this.storage = storage;
            Store = storage.GetRequiredService<ITaskStore>();
            Nodes = storage.GetRequiredService<INodeRegistry>();
        }

        public ITaskStore Store { get; }

        private INodeRegistry Nodes { get; }

        public static async Task<TaskTable> CreateAsync()
        {
            var database = await PostgresDatabase.CreateAsync();
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:Provider"] = nameof(StorageProvider.PostgreSql),
                ["Storage:ConnectionString"] = database.ConnectionString,
            }).Build();
            var storage = new ServiceCollection().AddLogging().AddPostgreSqlTaskStorage(configuration).BuildServiceProvider();
            await storage.GetRequiredService<IStorageInitializer>().InitializeAsync(TestContext.Current.CancellationToken);
            return new TaskTable(database, storage);
        }

        /// <summary>The dashboard's services on this table's store (or a wrapper of it).</summary>
        public ServiceProvider Dashboard(ITaskStore? store = null, TimeProvider? time = null)
        {
            TaskDashboard.AddTaskPages();
            var services = new ServiceCollection().AddSingleton(store ?? Store);
            if (time is not null)
            {
                services.AddSingleton(time);
            }

            return services.AddDashboardServices().BuildServiceProvider();
        }

        /// <summary>A task created <paramref name="order"/> ms after the epoch: ids, and so the list, follow that order.</summary>
        public async Task<Guid> QueuedAsync(string type, int order, string worker = "w-idle", int maxAttempts = 1, string? payload = null)
        {
            var created = await Store.CreateAsync(
                new NewTask
                {
                    Id = Guid.CreateVersion7(Epoch.AddMilliseconds(order)),
                    Type = type,
                    Payload = payload ?? $$"""{"n": {{order}}}""",
                    MaxAttempts = maxAttempts,
                    Worker = worker,
                    AttemptToken = Guid.NewGuid(),
                    TraceParent = TraceParent,
                    Timeout = TimeSpan.FromSeconds(90),
                },
                TestContext.Current.CancellationToken);
            return created.Task.Id;
        }

        public async Task<Guid> RunningAsync(string type, int order)
        {
            var id = await QueuedAsync(type, order, "w-run");
            await ClaimAsync("w-run", id);
            return id;
        }

        public async Task<Guid> SucceededAsync(string type, int order)
        {
            var id = await QueuedAsync(type, order, "w-done");
            var task = await ClaimAsync("w-done", id);
            await ApplyAsync(new CompleteAttempt(id, task.AttemptToken, """{"ok": true}"""));
            return id;
        }

        /// <summary>Two attempts, each ending with <paramref name="error"/> and its number: the first retried, the second failed.</summary>
        public async Task<Guid> FailedAsync(string type, int order, string error, string? payload = null)
        {
            var id = await QueuedAsync(type, order, "w-fail", maxAttempts: 2, payload);
            var first = await ClaimAsync("w-fail", id);
            await ApplyAsync(new RetryAttempt(id, first.AttemptToken, error + " 1", Guid.NewGuid()));
            var second = await ClaimAsync("w-fail", id);
            await ApplyAsync(new FailAttempt(id, second.AttemptToken, error + " 2"));
            return id;
        }

        public async ValueTask DisposeAsync()
        {
            await storage.DisposeAsync();
            await database.DisposeAsync();
        }

        private async Task<TaskRecord> ClaimAsync(string worker, Guid id)
        {
            await Nodes.HeartbeatAsync(new NodeHeartbeat(worker, NodeRole.Worker, $"http://{worker}", new NodeLoad(0, 0, 4)), TestContext.Current.CancellationToken);
            var claimed = await Store.ClaimAsync(worker, 10, TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);
            return Assert.Single(claimed, task => task.Id == id);
        }

        private async Task ApplyAsync(TaskTransition transition)
        {
            var result = await Store.ApplyAsync(transition, TestContext.Current.CancellationToken);
            Assert.Equal(TransitionOutcome.Applied, result.Outcome);
        }
    }

    /// <summary>The real store, counting the counts the tiles ask of it.</summary>
    public class CountingTaskStore : DispatchProxy
    {
        private ITaskStore inner = null!;
        private int counts;

        public int Counts => Volatile.Read(ref counts);

        public static ITaskStore Wrap(ITaskStore inner)
        {
            var store = Create<ITaskStore, CountingTaskStore>();
            ((CountingTaskStore)(object)store).inner = inner;
            return store;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(ITaskStore.CountByStatusAsync))
            {
                Interlocked.Increment(ref counts);
            }

            return targetMethod.Invoke(inner, args);
        }
    }
}
