using System.Diagnostics;
using MongoDB.Bson;
using TaskServer.StorageManager.Tasks;
using static TaskServer.StorageManager.Mongo.MongoCommands;

namespace TaskServer.StorageManager.Mongo;

/// <summary>The filters, updates and sorts the task store sends; pure, so tests render them without a server.</summary>
internal static class MongoTaskCommands
{
    internal static BsonDocument NewestFirst => new(TaskField.Id, -1);

    internal static BsonDocument OldestFirst => new(TaskField.Id, 1);

    internal static BsonDocument EarliestCreatedFirst => new(TaskField.CreatedAt, 1);

    internal static BsonDocument ById(Guid id) => new(TaskField.Id, Binary(id));

    /// <summary>
    /// The lookup repeats the unique index's partial filter (<c>$type: "string"</c>) so the planner can prove the
    /// query lies inside the index and use it.
    /// </summary>
    internal static BsonDocument ByIdempotencyKey(string key) =>
        new(TaskField.IdempotencyKey, new BsonDocument { { "$eq", key }, { "$type", "string" } });

    /// <summary>
    /// Upserted on <c>_id</c> so that <c>createdAt</c> is the server's clock; the whole document is written only when
    /// the upsert created it, so an existing task with that id is returned untouched rather than overwritten.
    /// </summary>
    internal static BsonDocument[] Create(NewTask task)
    {
        var document = new BsonDocument
        {
            { TaskField.Id, Literal(Binary(task.Id)) },
            { TaskField.Type, Literal(task.Type) },
            { TaskField.Payload, Literal(MongoJson.ToBson(task.Payload)) },
            { TaskField.Status, Literal(nameof(TaskState.Queued)) },
            { TaskField.Attempt, Literal(1) },
            { TaskField.AttemptToken, Literal(Binary(task.AttemptToken)) },
            { TaskField.MaxAttempts, Literal(task.MaxAttempts) },
            { TaskField.Worker, Literal(task.Worker) },
        };
        if (task.IdempotencyKey is { } key)
        {
            document.Add(TaskField.IdempotencyKey, Literal(key));
        }

        document.Add(TaskField.PayloadHash, Literal(task.PayloadHash));
        if (task.TraceParent is { } traceParent)
        {
            document.Add(TaskField.TraceParent, Literal(traceParent));
        }

        if (task.Owner is { } owner)
        {
            document.Add(TaskField.Owner, Literal(owner));
        }

        document.Add(TaskField.CreatedAt, Now);

        var isNew = new BsonDocument("$eq", new BsonArray { new BsonDocument("$type", "$" + TaskField.CreatedAt), "missing" });
        var replacement = new BsonDocument("$cond", new BsonDocument { { "if", isNew }, { "then", document }, { "else", "$$ROOT" } });
        return [new BsonDocument("$replaceWith", replacement)];
    }

    /// <summary>The condition of a transition: the task is in a state it may leave and, unless cancelled, in the expected attempt.</summary>
    internal static BsonDocument TransitionFilter(TaskTransition transition)
    {
        var filter = new BsonDocument
        {
            { TaskField.Id, Binary(transition.TaskId) },
            { TaskField.Status, new BsonDocument("$in", new BsonArray(transition.From.Select(state => state.ToString()))) },
        };
        if (transition.ExpectedToken is { } token)
        {
            filter.Add(TaskField.AttemptToken, Binary(token));
        }

        if (transition is RetryAttempt)
        {
            filter.Add("$expr", new BsonDocument("$lt", new BsonArray { "$" + TaskField.Attempt, "$" + TaskField.MaxAttempts }));
        }

        return filter;
    }

    internal static BsonDocument[] TransitionUpdate(TaskTransition transition) => transition switch
    {
        StartAttempt start => Set(new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Running) },
            { TaskField.Worker, Literal(start.Worker) },
            { TaskField.StartedAt, Now },
        }),
        CompleteAttempt complete => Set(new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Succeeded) },
            { TaskField.Result, Literal(MongoJson.ToBson(complete.Result)) },
            { TaskField.Error, Remove },
            { TaskField.FinishedAt, Now },
        }),
        FailAttempt fail => Set(new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Failed) },
            { TaskField.Error, Literal(fail.Error) },
            { TaskField.FinishedAt, Now },
        }),
        RetryAttempt retry => Set(new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Queued) },
            { TaskField.Attempt, new BsonDocument("$add", new BsonArray { "$" + TaskField.Attempt, 1 }) },
            { TaskField.AttemptToken, Literal(Binary(retry.NextToken)) },
            { TaskField.Error, Literal(retry.Error) },
            { TaskField.StartedAt, Remove },
        }),
        CancelTask => Set(new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Cancelled) },
            { TaskField.FinishedAt, Now },
        }),
        RequeueTask requeue => Set(new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Queued) },
            { TaskField.Worker, Literal(requeue.Worker) },
            // The lost run of a running task counts as an attempt; a queued task never ran. Both read the status before this $set.
            { TaskField.Attempt, new BsonDocument("$add", new BsonArray { "$" + TaskField.Attempt, RunningCountsOne }) },
            { TaskField.AttemptToken, Literal(Binary(requeue.NextToken)) },
            { TaskField.StartedAt, Remove },
            { TaskField.JobId, Remove },
        }),
        _ => throw new UnreachableException($"Unknown transition {transition.GetType().Name}."),
    };

    internal static BsonDocument AttachJobFilter(Guid id, Guid attemptToken) => new()
    {
        { TaskField.Id, Binary(id) },
        { TaskField.AttemptToken, Binary(attemptToken) },
        { TaskField.Status, ActiveStates() },
    };

    /// <summary>A classic update, not a pipeline: its values are stored as given, never read as expressions.</summary>
    internal static BsonDocument AttachJobUpdate(string jobId) => new("$set", new BsonDocument(TaskField.JobId, jobId));

    internal static BsonDocument ListFilter(TaskQuery query)
    {
        var filter = new BsonDocument();
        if (query.Status is { } status)
        {
            filter.Add(TaskField.Status, status.ToString());
        }

        if (query.Type is { } type)
        {
            filter.Add(TaskField.Type, type);
        }

        if (query.Owner is { } owner)
        {
            filter.Add(TaskField.Owner, owner);
        }

        if (query.After is { } after)
        {
            filter.Add(TaskField.Id, new BsonDocument("$lt", Binary(after)));
        }

        return filter;
    }

    internal static BsonDocument ActiveByWorkerFilter(string worker) => new()
    {
        { TaskField.Worker, worker },
        { TaskField.Status, ActiveStates() },
    };

    /// <summary>The worker's active tasks counted by status: one <c>{ _id: status, count }</c> per status present.</summary>
    internal static BsonDocument[] CountActiveByWorker(string worker) =>
    [
        new("$match", ActiveByWorkerFilter(worker)),
        new("$group", new BsonDocument { { "_id", "$" + TaskField.Status }, { "count", new BsonDocument("$sum", 1) } }),
    ];

    /// <summary>Queued, no job (the field is absent: <c>null</c> matches that), created at least <paramref name="minimumAge"/> ago by the server's clock.</summary>
    internal static BsonDocument WithoutJobFilter(TimeSpan minimumAge) => new()
    {
        { TaskField.Status, nameof(TaskState.Queued) },
        { TaskField.JobId, BsonNull.Value },
        { "$expr", new BsonDocument("$lte", new BsonArray { "$" + TaskField.CreatedAt, NowMinus(minimumAge) }) },
    };

    internal static BsonDocument ActiveWithJobFilter(Guid? after)
    {
        var filter = new BsonDocument
        {
            { TaskField.Status, ActiveStates() },
            { TaskField.JobId, new BsonDocument("$ne", BsonNull.Value) },
        };
        if (after is { } cursor)
        {
            filter.Add(TaskField.Id, new BsonDocument("$gt", Binary(cursor)));
        }

        return filter;
    }

    private static BsonDocument RunningCountsOne => new("$cond", new BsonArray
    {
        new BsonDocument("$eq", new BsonArray { "$" + TaskField.Status, nameof(TaskState.Running) }),
        1,
        0,
    });

    private static BsonDocument ActiveStates() =>
        new("$in", new BsonArray { nameof(TaskState.Queued), nameof(TaskState.Running) });
}
