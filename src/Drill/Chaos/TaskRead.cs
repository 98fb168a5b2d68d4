using System.Text.Json;
using System.Text.Json.Serialization;
using TaskServer.Client;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Drill.Chaos;

/// <summary>What one read of a task through a gateway said, and when its answer came (wall clock).</summary>
/// <param name="Via">"get" (GET /tasks/{id}, which carries the result) or "list" (a page of GET /tasks, which does not).</param>
/// <param name="StartedAt">When the current attempt was claimed (null while Queued).</param>
internal sealed record TaskRead(
    DateTimeOffset At,
    string Via,
    string Status,
    int Attempt,
    int MaxAttempts,
    string? Worker,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? Error)
{
    public const string ViaGet = "get";
    public const string ViaList = "list";

    /// <summary>The result, on a read by id of a finished task; left out of reports (an echo's is its whole payload).</summary>
    [JsonIgnore]
    public JsonElement? Result { get; init; }

    /// <summary>The status as the server's state machine names it; null for a status this build does not know.</summary>
    [JsonIgnore]
    public TaskState? State => Enum.TryParse<TaskState>(Status, ignoreCase: false, out var state) && Enum.IsDefined(state) ? state : null;

    [JsonIgnore]
    public bool IsFinal => State?.IsFinal() == true;

    public static TaskRead Of(TaskInfo task, string via, DateTimeOffset at) =>
        new(at, via, task.Status, task.Attempt, task.MaxAttempts, task.Worker, task.StartedAt, task.FinishedAt, task.Error)
        {
            Result = via == ViaGet ? task.Result : null,
        };

    /// <summary>Whether the two reads saw the task in the same state (when and how they read it aside).</summary>
    public bool SameStateAs(TaskRead other) =>
        Status == other.Status && Attempt == other.Attempt && MaxAttempts == other.MaxAttempts && Worker == other.Worker
        && StartedAt == other.StartedAt && FinishedAt == other.FinishedAt && Error == other.Error;
}
