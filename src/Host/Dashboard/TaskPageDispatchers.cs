using Hangfire.Dashboard;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Dashboard;

/// <summary>
/// Reads one page of tasks before Hangfire renders the Tasks page (Hangfire pages render synchronously and the list
/// needs the database), as <see cref="ClusterPageDispatcher"/> does for the cluster. A filter that means nothing is
/// answered 400 with the page saying why. Hangfire has checked the dashboard's authorization before calling this.
/// </summary>
internal sealed class TaskListPageDispatcher(IDashboardDispatcher render) : IDashboardDispatcher
{
    public async Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var filter = TaskListFilter.From(http.Request.Query);
        var (query, problem) = filter.Parse();
        var counts = http.RequestServices.GetRequiredService<TaskCounts>();
        await counts.RefreshWhenStaleAsync().WaitAsync(http.RequestAborted);
        if (query is null)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            http.Features.Set(new TaskListView(filter, problem, [], false, counts.Peek()));
        }
        else
        {
            var tasks = await http.RequestServices.GetRequiredService<ITaskStore>().ListAsync(query, http.RequestAborted);
            var shown = query.Limit - 1;
            http.Features.Set(new TaskListView(filter, null, [.. tasks.Take(shown)], tasks.Count > shown, counts.Peek()));
        }

        // Tasks move on from one look to the next.
        http.Response.Headers.CacheControl = "no-store";
        await render.Dispatch(context);
    }
}

/// <summary>Reads one task before Hangfire renders its page: 400 when the path names no task id, 404 when there is no such task.</summary>
internal sealed class TaskDetailPageDispatcher(IDashboardDispatcher render) : IDashboardDispatcher
{
    public async Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var requested = context.UriMatch.Groups[TaskDashboard.IdGroup].Value;
        TaskDetailView view;
        if (!Guid.TryParse(requested, out var id))
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            view = new TaskDetailView(requested, null, $"\"{requested}\" is not a task id.");
        }
        else if (await http.RequestServices.GetRequiredService<ITaskStore>().GetAsync(id, http.RequestAborted) is { } task)
        {
            view = new TaskDetailView(requested, task, null);
        }
        else
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            view = new TaskDetailView(requested, null, $"There is no task {id}.");
        }

        http.Features.Set(view);
        http.Response.Headers.CacheControl = "no-store";
        await render.Dispatch(context);
    }
}
