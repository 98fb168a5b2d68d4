using MongoDB.Bson;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Mongo;

/// <summary>Field names of a document in the <c>tasks</c> collection.</summary>
internal static class TaskField
{
    internal const string Id = "_id";
    internal const string Type = "type";
    internal const string Payload = "payload";
    internal const string Status = "status";
    internal const string Attempt = "attempt";
    internal const string AttemptToken = "attemptToken";
    internal const string MaxAttempts = "maxAttempts";
    internal const string Worker = "worker";
    internal const string IdempotencyKey = "idempotencyKey";
    internal const string PayloadHash = "payloadHash";
    internal const string CreatedAt = "createdAt";
    internal const string StartedAt = "startedAt";
    internal const string FinishedAt = "finishedAt";
    internal const string Result = "result";
    internal const string Error = "error";
    /// <summary>The per-attempt timeout in milliseconds (an int, as PostgreSQL's <c>timeout_ms</c>).</summary>
    internal const string TimeoutMs = "timeoutMs";
    internal const string TraceParent = "traceParent";
    internal const string Owner = "owner";
    internal const string DueAt = "dueAt";
    internal const string History = "history";
    /// <summary>Drawn afresh by each claim: the claimed set is read back by it.</summary>
    internal const string ClaimId = "claimId";
    /// <summary>Drawn afresh by each outcome of a set: the read-back tells which outcomes were applied.</summary>
    internal const string OutcomeId = "outcomeId";
}

/// <summary>Field names of an entry of a task's <c>history</c> array.</summary>
internal static class HistoryField
{
    internal const string Attempt = "attempt";
    internal const string Worker = "worker";
    internal const string Outcome = "outcome";
    internal const string Error = "error";
    internal const string EndedAt = "endedAt";
}

/// <summary>Reads task documents back into the model. Optional fields are absent rather than null in the database.</summary>
internal static class MongoTaskDocuments
{
    /// <summary>
    /// The timeout of a task stored before timeouts were recorded: the default PostgreSQL's migration gave the same
    /// tasks, so a task reads back alike on both providers.
    /// </summary>
    internal static readonly TimeSpan StoredBeforeTimeouts = TimeSpan.FromMinutes(5);

    internal static TaskRecord ToTask(BsonDocument document) => new()
    {
        Id = ToGuid(document[TaskField.Id]),
        Type = document[TaskField.Type].AsString,
        Payload = MongoJson.ToJson(document[TaskField.Payload]),
        Status = Enum.Parse<TaskState>(document[TaskField.Status].AsString),
        Attempt = document[TaskField.Attempt].ToInt32(),
        AttemptToken = ToGuid(document[TaskField.AttemptToken]),
        MaxAttempts = document[TaskField.MaxAttempts].ToInt32(),
        Worker = OptionalString(document, TaskField.Worker),
        IdempotencyKey = OptionalString(document, TaskField.IdempotencyKey),
        PayloadHash = OptionalString(document, TaskField.PayloadHash),
        CreatedAt = ToTime(document[TaskField.CreatedAt]),
        StartedAt = OptionalTime(document, TaskField.StartedAt),
        FinishedAt = OptionalTime(document, TaskField.FinishedAt),
        // Present means completed: a JSON null result is stored as a BSON null and reads back as "null".
        Result = document.TryGetValue(TaskField.Result, out var result) ? MongoJson.ToJson(result) : null,
        Error = OptionalString(document, TaskField.Error),
        // Documents written before execution left Hangfire may still carry a jobId: nothing reads it.
        Timeout = document.TryGetValue(TaskField.TimeoutMs, out var timeout) && timeout.IsNumeric
            ? TimeSpan.FromMilliseconds(timeout.ToInt64())
            : StoredBeforeTimeouts,
        TraceParent = OptionalString(document, TaskField.TraceParent),
        Owner = OptionalString(document, TaskField.Owner),
        DueAt = OptionalTime(document, TaskField.DueAt),
        History = document.TryGetValue(TaskField.History, out var history) && history.IsBsonArray
            ? new AttemptHistory(history.AsBsonArray.Select(entry => ToAttempt(entry.AsBsonDocument)))
            : AttemptHistory.Empty,
    };

    private static AttemptRecord ToAttempt(BsonDocument entry) => new(
        entry[HistoryField.Attempt].ToInt32(),
        OptionalString(entry, HistoryField.Worker),
        entry[HistoryField.Outcome].AsString,
        OptionalString(entry, HistoryField.Error),
        ToTime(entry[HistoryField.EndedAt]));

    internal static Guid ToGuid(BsonValue value) => value.AsBsonBinaryData.ToGuid(GuidRepresentation.Standard);

    internal static DateTimeOffset ToTime(BsonValue value) => new(value.ToUniversalTime(), TimeSpan.Zero);

    private static string? OptionalString(BsonDocument document, string field) =>
        document.TryGetValue(field, out var value) && !value.IsBsonNull ? value.AsString : null;

    private static DateTimeOffset? OptionalTime(BsonDocument document, string field) =>
        document.TryGetValue(field, out var value) && !value.IsBsonNull ? ToTime(value) : null;
}
