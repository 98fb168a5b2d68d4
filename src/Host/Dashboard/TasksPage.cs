using System.Globalization;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;
using Microsoft.AspNetCore.Http.Features;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Dashboard;

/// <summary><see cref="TaskListView"/> as HTML: the filter, the counts by state, one page of tasks and the way to older ones.</summary>
internal sealed class TasksPage : DashboardPage
{
    /// <summary>Errors are cut to this many characters in the list; a task's page shows them whole.</summary>
    public const int ErrorPreviewLength = 120;

    public override void Execute()
    {
        Layout = new LayoutPage(TaskDashboard.Title);
        var view = Context.GetHttpContext().Features.GetRequiredFeature<TaskListView>();

        WriteLiteral("""<div class="row"><div class="col-md-12">""");
        WriteLiteral("""<h1 class="page-header">Tasks</h1>""");
        WriteLiteral("""<p class="text-muted">Every task in the task table, newest first. Tasks are not Hangfire jobs: workers claim them from the task table.</p>""");
        WriteCounts(view.Counts);
        WriteFilter(view.Filter);
        if (view.Problem is { } problem)
        {
            WriteLiteral("""<div class="alert alert-danger" id="tasks-problem">""");
            Write(problem);
            WriteLiteral("</div>");
        }
        else
        {
            WriteTasks(view);
        }

        WriteLiteral("</div></div>");
    }

    private void WriteCounts(TaskCountsSnapshot? counts)
    {
        if (counts is null)
        {
            return;
        }

        WriteLiteral("""<p id="tasks-counts">""");
        foreach (var state in Enum.GetValues<TaskState>())
        {
            WriteLiteral("<a href=\"");
            Write(Url.To(TaskDashboard.ListPath) + "?status=" + state);
            WriteLiteral("\">");
            Label(StatusStyle(state), state.ToString());
            WriteLiteral("</a> ");
            Field("span", "count-" + state.ToString().ToLowerInvariant(), counts[state].ToString(CultureInfo.InvariantCulture));
            WriteLiteral(" &nbsp; ");
        }

        WriteLiteral("""<small class="text-muted">as of """);
        Write(Timestamp(counts.CountedAt));
        WriteLiteral("</small></p>");
    }

    private void WriteFilter(TaskListFilter filter)
    {
        WriteLiteral("<form class=\"form-inline\" method=\"get\" id=\"tasks-filter\" action=\"");
        Write(Url.To(TaskDashboard.ListPath));
        WriteLiteral("\">");
        WriteLiteral("""<div class="form-group"><label for="tasks-status">Status</label> <select class="form-control" id="tasks-status" name="status">""");
        WriteLiteral("""<option value="">any</option>""");
        foreach (var state in Enum.GetNames<TaskState>())
        {
            WriteLiteral("<option");
            if (string.Equals(state, filter.Status, StringComparison.OrdinalIgnoreCase))
            {
                WriteLiteral(" selected");
            }

            WriteLiteral(">");
            Write(state);
            WriteLiteral("</option>");
        }

        WriteLiteral("</select></div> ");
        WriteLiteral("<div class=\"form-group\"><label for=\"tasks-type\">Type</label> <input class=\"form-control\" id=\"tasks-type\" name=\"type\" placeholder=\"any\" value=\"");
        Write(filter.Type);
        WriteLiteral("\"></div> ");
        if (filter.Limit.Length > 0)
        {
            WriteLiteral("<input type=\"hidden\" name=\"limit\" value=\"");
            Write(filter.Limit);
            WriteLiteral("\">");
        }

        WriteLiteral("""<button type="submit" class="btn btn-primary">Filter</button></form><br>""");
    }

    private void WriteTasks(TaskListView view)
    {
        if (view.Tasks.Count == 0)
        {
            WriteLiteral("""<p class="text-muted" id="tasks">No task matches.</p>""");
        }
        else
        {
            WriteLiteral("""<table class="table table-striped" id="tasks">""");
            WriteLiteral("<thead><tr><th>Task</th><th>Type</th><th>Status</th><th>Attempt</th><th>Worker</th><th>Created</th><th>Finished</th><th>Error</th></tr></thead><tbody>");
            foreach (var task in view.Tasks)
            {
                WriteLiteral("<tr data-task=\"");
                Write(task.Id.ToString());
                WriteLiteral("\"><td data-field=\"id\"><a href=\"");
                Write(Url.To(TaskDashboard.TaskPath(task.Id)));
                WriteLiteral("\">");
                Write(task.Id.ToString());
                WriteLiteral("</a></td>");
                Field("td", "type", task.Type);
                WriteLiteral("<td data-field=\"status\">");
                Label(StatusStyle(task.Status), task.Status.ToString());
                WriteLiteral("</td>");
                Field("td", "attempt", Attempt(task));
                Field("td", "worker", task.Worker ?? "-");
                Field("td", "created-at", Timestamp(task.CreatedAt));
                Field("td", "finished-at", task.FinishedAt is { } finished ? Timestamp(finished) : "-");
                WriteLiteral("<td data-field=\"error\" title=\"");
                Write(task.Error ?? "");
                WriteLiteral("\">");
                Write(Preview(task.Error));
                WriteLiteral("</td></tr>");
            }

            WriteLiteral("</tbody></table>");
        }

        WriteLiteral("""<ul class="pager">""");
        if (view.Filter.After.Length > 0)
        {
            PagerLink("previous", "newest", "&larr; Newest", view.Filter.QueryString(after: null));
        }

        if (view.HasOlder)
        {
            PagerLink("next", "older", "Older &rarr;", view.Filter.QueryString(view.Tasks[^1].Id));
        }

        WriteLiteral("</ul>");
    }

    private void PagerLink(string side, string id, string text, string query)
    {
        WriteLiteral($"<li class=\"{side}\"><a id=\"tasks-{id}\" href=\"");
        Write(Url.To(TaskDashboard.ListPath) + query);
        WriteLiteral($"\">{text}</a></li>");
    }

    private static string Preview(string? error) =>
        error is null ? "" : error.Length <= ErrorPreviewLength ? error : error[..ErrorPreviewLength] + "…";
}
