using System.Globalization;
using Hangfire.Dashboard;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Dashboard;

/// <summary>
/// What TaskServer's own dashboard pages share: values go out through <see cref="RazorPage"/>'s <c>Write</c>, which
/// HTML-encodes them, and cells carry <c>data-field</c> names so that tests and scripts can read a page without
/// guessing at its layout. Only the pages' own markup is written raw.
/// </summary>
internal abstract class DashboardPage : RazorPage
{
    /// <summary>An element whose whole text is one encoded value.</summary>
    protected void Field(string element, string field, string value)
    {
        WriteLiteral($"<{element} data-field=\"{field}\">");
        Write(value);
        WriteLiteral($"</{element}>");
    }

    protected void Label(string style, string text)
    {
        WriteLiteral($"<span class=\"label {style}\">");
        Write(text);
        WriteLiteral("</span>");
    }

    protected static string StatusStyle(TaskState status) => status switch
    {
        TaskState.Queued => "label-info",
        TaskState.Running => "label-warning",
        TaskState.Succeeded => "label-success",
        TaskState.Failed => "label-danger",
        _ => "label-default",
    };

    /// <summary>The current attempt of the most the task may have, e.g. "2 of 3".</summary>
    protected static string Attempt(TaskRecord task) =>
        string.Create(CultureInfo.InvariantCulture, $"{task.Attempt} of {task.MaxAttempts}");

    internal static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", CultureInfo.InvariantCulture);
}
