using System.Diagnostics;
using System.Globalization;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;
using Microsoft.AspNetCore.Http.Features;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Dashboard;

/// <summary>
/// <see cref="TaskDetailView"/> as HTML: everything stored about one task (its per-attempt timeout among it) and the
/// attempts that ended without success.
/// </summary>
internal sealed class TaskPage : DashboardPage
{
    public override void Execute()
    {
        var view = Context.GetHttpContext().Features.GetRequiredFeature<TaskDetailView>();
        Layout = new LayoutPage("Task " + view.RequestedId);

        WriteLiteral("""<div class="row"><div class="col-md-12">""");
        WriteLiteral("""<h1 class="page-header">Task <small data-field="id">""");
        Write(view.RequestedId);
        WriteLiteral("</small></h1>");
        WriteLiteral("<p><a href=\"");
        Write(Url.To(TaskDashboard.ListPath));
        WriteLiteral("\">&larr; All tasks</a></p>");
        if (view.Task is { } task)
        {
            WriteTask(task);
            WriteHistory(task);
        }
        else
        {
            WriteLiteral("""<div class="alert alert-warning" id="task-problem">""");
            Write(view.Problem ?? "");
            WriteLiteral("</div>");
        }

        WriteLiteral("</div></div>");
    }

    private void WriteTask(TaskRecord task)
    {
        WriteLiteral("""<dl class="dl-horizontal" id="task">""");
        WriteLiteral("<dt>Status</dt><dd data-field=\"status\">");
        Label(StatusStyle(task.Status), task.Status.ToString());
        WriteLiteral("</dd><dt>Type</dt>");
        Field("dd", "type", task.Type);
        WriteLiteral("<dt>Attempt</dt>");
        Field("dd", "attempt", Attempt(task));
        WriteLiteral("<dt>Worker</dt>");
        Field("dd", "worker", task.Worker ?? "-");
        WriteLiteral("<dt>Timeout</dt>");
        Field("dd", "timeout", DurationText.Format(task.Timeout));
        WriteLiteral("<dt>Trace id</dt>");
        Field("dd", "trace-id", TraceId(task.TraceParent) ?? "-");
        WriteLiteral("<dt>Client</dt>");
        Field("dd", "owner", task.Owner ?? "-");
        WriteLiteral("<dt>Idempotency key</dt>");
        Field("dd", "idempotency-key", task.IdempotencyKey ?? "-");
        WriteLiteral("<dt>Created</dt>");
        Field("dd", "created-at", Timestamp(task.CreatedAt));
        WriteLiteral("<dt>Due</dt>");
        Field("dd", "due-at", Optional(task.DueAt));
        WriteLiteral("<dt>Started</dt>");
        Field("dd", "started-at", Optional(task.StartedAt));
        WriteLiteral("<dt>Finished</dt>");
        Field("dd", "finished-at", Optional(task.FinishedAt));
        WriteLiteral("</dl>");

        if (task.Error is { } error)
        {
            WriteLiteral("<h3>Error</h3>");
            Field("pre", "error", error);
        }

        if (task.Result is { } result)
        {
            WriteLiteral("<h3>Result</h3>");
            Field("pre", "result", result);
        }

        WriteLiteral("<h3>Payload</h3>");
        Field("pre", "payload", task.Payload);
    }

    private void WriteHistory(TaskRecord task)
    {
        WriteLiteral("<h3>Ended attempts</h3>");
        if (task.History.Count == 0)
        {
            WriteLiteral("""<p class="text-muted" id="task-history">No attempt has ended without success.</p>""");
            return;
        }

        WriteLiteral("""<table class="table table-striped" id="task-history">""");
        WriteLiteral("<thead><tr><th>Attempt</th><th>Worker</th><th>Outcome</th><th>Error</th><th>Ended at</th></tr></thead><tbody>");
        foreach (var attempt in task.History)
        {
            WriteLiteral("<tr>");
            Field("td", "attempt", attempt.Attempt.ToString(CultureInfo.InvariantCulture));
            Field("td", "worker", attempt.Worker ?? "-");
            WriteLiteral("<td data-field=\"outcome\">");
            Label(attempt.Outcome == AttemptRecord.Failed ? "label-danger" : "label-warning", attempt.Outcome);
            WriteLiteral("</td>");
            Field("td", "error", attempt.Error ?? "-");
            Field("td", "ended-at", Timestamp(attempt.EndedAt));
            WriteLiteral("</tr>");
        }

        WriteLiteral("</tbody></table>");
    }

    /// <summary>The trace id of a W3C <c>traceparent</c>; null when there is none or it is not one.</summary>
    private static string? TraceId(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, out var context) ? context.TraceId.ToHexString() : null;

    private static string Optional(DateTimeOffset? at) => at is { } value ? Timestamp(value) : "-";
}
