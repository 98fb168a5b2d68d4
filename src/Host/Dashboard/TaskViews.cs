using System.Globalization;
using Microsoft.Extensions.Primitives;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Dashboard;

/// <summary>
/// The Tasks page's filter as the operator wrote it in the query string (<c>status</c>, <c>type</c>, <c>after</c>,
/// <c>limit</c>), and the <see cref="TaskQuery"/> it means, or why it means none.
/// </summary>
internal sealed record TaskListFilter(string Status, string Type, string After, string Limit)
{
    public const int DefaultLimit = 20;

    public const int MaxLimit = 200;

    /// <summary>Longer than any task type: a longer filter is a mistake, not a type.</summary>
    public const int MaxTypeLength = 200;

    public static TaskListFilter From(IQueryCollection query) =>
        new(Text(query["status"]), Text(query["type"]), Text(query["after"]), Text(query["limit"]));

    /// <summary>The query for one page, asking for one task more than it shows to learn whether an older page exists.</summary>
    public (TaskQuery? Query, string? Problem) Parse()
    {
        TaskState? status = null;
        if (Status.Length > 0)
        {
            // By name only: Enum.TryParse would also take "7" or "Queued,Failed".
            var name = Enum.GetNames<TaskState>().FirstOrDefault(n => string.Equals(n, Status, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                return (null, $"Unknown status \"{Status}\": it is one of {string.Join(", ", Enum.GetNames<TaskState>())}.");
            }

            status = Enum.Parse<TaskState>(name);
        }

        if (Type.Length > MaxTypeLength)
        {
            return (null, $"The type filter is longer than {MaxTypeLength} characters.");
        }

        Guid? after = null;
        if (After.Length > 0)
        {
            if (!Guid.TryParse(After, out var id))
            {
                return (null, $"\"{After}\" is not a task id, so there is no page after it.");
            }

            after = id;
        }

        var limit = DefaultLimit;
        if (Limit.Length > 0 && (!int.TryParse(Limit, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            return (null, $"The page size \"{Limit}\" is not a whole number from 1 to {MaxLimit}.");
        }

        return (new TaskQuery { Status = status, Type = Type.Length > 0 ? Type : null, After = after, Limit = limit + 1 }, null);
    }

    /// <summary>This filter's query string with another cursor (none for the newest page); empty values are left out.</summary>
    public string QueryString(Guid? after)
    {
        var values = new List<KeyValuePair<string, string?>>();
        Add("status", Status);
        Add("type", Type);
        Add("limit", Limit);
        Add("after", after?.ToString() ?? "");
        return Microsoft.AspNetCore.Http.QueryString.Create(values).ToUriComponent();

        void Add(string name, string value)
        {
            if (value.Length > 0)
            {
                values.Add(new(name, value));
            }
        }
    }

    private static string Text(StringValues values) => values.ToString().Trim();
}

/// <summary>One page of the Tasks page: the tasks (newest first), whether older ones exist, or the filter's problem.</summary>
internal sealed record TaskListView(TaskListFilter Filter, string? Problem, IReadOnlyList<TaskRecord> Tasks, bool HasOlder, TaskCountsSnapshot? Counts);

/// <summary>One task's page: the task, or why there is none (<see cref="Problem"/>) for the id in the path.</summary>
internal sealed record TaskDetailView(string RequestedId, TaskRecord? Task, string? Problem);
