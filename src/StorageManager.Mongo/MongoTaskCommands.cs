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

    internal static BsonDocument ById(Guid id) => new(TaskField.Id, Binary(id));

    internal static BsonDocument IdOnly => new(TaskField.Id, 1);

    internal static BsonDocument CurrentAttemptOnly => new() { { TaskField.Id, 1 }, { TaskField.Status, 1 }, { TaskField.AttemptToken, 1 } };

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
            { TaskField.Payload, Literal(MongoJson.ToBoundedBson(task.Payload, "payload")) },
            { TaskField.Status, Literal(nameof(TaskState.Queued)) },
            { TaskField.Attempt, Literal(1) },
            { TaskField.AttemptToken, Literal(Binary(task.AttemptToken)) },
            { TaskField.MaxAttempts, Literal(task.MaxAttempts) },
            // Bounded at intake; checked as on PostgreSQL, so a value that does not fit fails instead of wrapping.
            { TaskField.TimeoutMs, Literal(checked((int)task.Timeout.TotalMilliseconds)) },
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
        document.Add(TaskField.DueAt, Now);
        document.Add(TaskField.History, Literal(new BsonArray()));

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
        CompleteAttempt complete when MongoJson.TooLarge(complete.Result) is { } tooLarge => Set(new BsonDocument
        {
            // A result MongoDB cannot store ends the task as failed, saying why, rather than failing the write of the
            // whole set of outcomes again and again.
            { TaskField.Status, nameof(TaskState.Failed) },
            { TaskField.Error, Literal(tooLarge) },
            { TaskField.FinishedAt, Now },
            { TaskField.History, AppendHistory(AttemptRecord.Failed, Literal(tooLarge)) },
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
            { TaskField.History, AppendHistory(AttemptRecord.Failed, Literal(fail.Error)) },
        }),
        RetryAttempt retry => Set(new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Queued) },
            // Another worker's next attempt, or the same worker's (the field set to itself).
            { TaskField.Worker, retry.Worker is { } worker ? Literal(worker) : "$" + TaskField.Worker },
            { TaskField.Attempt, new BsonDocument("$add", new BsonArray { "$" + TaskField.Attempt, 1 }) },
            { TaskField.AttemptToken, Literal(Binary(retry.NextToken)) },
            { TaskField.Error, Literal(retry.Error) },
            { TaskField.StartedAt, Remove },
            { TaskField.DueAt, NowPlus(retry.Delay) },
            { TaskField.History, AppendHistory(AttemptRecord.Retried, Literal(retry.Error)) },
        }),
        CancelTask => Set(new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Cancelled) },
            { TaskField.FinishedAt, Now },
        }),
        // The attempt is handed back unspent: same number, no history entry, and due now so that whoever owns it next
        // may start it at once.
        ReleaseAttempt release => Set(new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Queued) },
            { TaskField.AttemptToken, Literal(Binary(release.NextToken)) },
            { TaskField.StartedAt, Remove },
            { TaskField.DueAt, Now },
        }),
        _ => throw new UnreachableException($"Unknown transition {transition.GetType().Name}."),
    };

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

    /// <summary>The worker's Running tasks (its orphan check): the same index as <see cref="ActiveByWorkerFilter"/>.</summary>
    internal static BsonDocument RunningByWorkerFilter(string worker) => new()
    {
        { TaskField.Worker, worker },
        { TaskField.Status, TaskState.Running.ToString() },
    };

    /// <summary>The worker's active tasks counted by status: one <c>{ _id: status, count }</c> per status present.</summary>
    internal static BsonDocument[] CountActiveByWorker(string worker) =>
    [
        new("$match", ActiveByWorkerFilter(worker)),
        new("$group", new BsonDocument
        {
            { "_id", "$" + TaskField.Status },
            { "count", new BsonDocument("$sum", 1) },
            { "due", new BsonDocument("$sum", new BsonDocument("$cond", new BsonArray
                {
                    new BsonDocument("$and", new BsonArray
                    {
                        new BsonDocument("$eq", new BsonArray { "$" + TaskField.Status, nameof(TaskState.Queued) }),
                        new BsonDocument("$lte", new BsonArray { "$" + TaskField.DueAt, Now }),
                    }),
                    1,
                    0,
                })) },
        }),
    ];

    /// <summary>Queued tasks of <paramref name="worker"/> whose due time has come by the server's clock.</summary>
    internal static BsonDocument ClaimableFilter(string worker) => new()
    {
        { TaskField.Worker, worker },
        { TaskField.Status, nameof(TaskState.Queued) },
        { "$expr", new BsonDocument("$lte", new BsonArray { "$" + TaskField.DueAt, Now }) },
    };

    /// <summary>
    /// The claim of the candidates found: each document is updated atomically and only while it still matches, so a
    /// candidate another claimant took first (now Running) or the primary's rescue moved to another worker is left out.
    /// </summary>
    internal static BsonDocument ClaimFilter(IEnumerable<Guid> ids, string worker)
    {
        var filter = ClaimableFilter(worker);
        filter.InsertAt(0, new BsonElement(TaskField.Id, new BsonDocument("$in", new BsonArray(ids.Select(Binary)))));
        return filter;
    }

    /// <summary>Starts the attempt under its current token; <paramref name="claimId"/> marks the set for the read-back.</summary>
    internal static BsonDocument[] ClaimUpdate(Guid claimId) => Set(new BsonDocument
    {
        { TaskField.Status, nameof(TaskState.Running) },
        { TaskField.StartedAt, Now },
        { TaskField.ClaimId, Literal(Binary(claimId)) },
    });

    /// <summary>The set one claim took, as long as it runs (the partial index <c>claimed</c> holds Running tasks only).</summary>
    internal static BsonDocument ClaimedFilter(Guid claimId) => new()
    {
        { TaskField.ClaimId, Binary(claimId) },
        { TaskField.Status, nameof(TaskState.Running) },
    };

    /// <summary>An outcome of a set: the transition's own update, marked so the read-back can tell whether it applied.</summary>
    internal static BsonDocument[] OutcomeUpdate(TaskTransition outcome, Guid outcomeId)
    {
        var stages = TransitionUpdate(outcome);
        stages[0]["$set"].AsBsonDocument.Add(TaskField.OutcomeId, Literal(Binary(outcomeId)));
        return stages;
    }

    internal static BsonDocument OutcomeOnly => new() { { TaskField.Id, 1 }, { TaskField.OutcomeId, 1 } };

    /// <summary>What a set of creations reads back: the tasks it created, and the tasks holding the keys it found taken.</summary>
    internal static BsonDocument CreatedOrKeyed(IReadOnlyCollection<Guid> created, IReadOnlyCollection<string> keys) =>
        keys.Count == 0
            ? ByIds(created)
            : new BsonDocument("$or", new BsonArray
            {
                ByIds(created),
                new BsonDocument(TaskField.IdempotencyKey, new BsonDocument { { "$in", new BsonArray(keys) }, { "$type", "string" } }),
            });

    internal static BsonDocument ByIds(IEnumerable<Guid> ids) => new(TaskField.Id, new BsonDocument("$in", new BsonArray(ids.Select(Binary))));

    /// <summary>Every task counted by status: one <c>{ _id: status, count }</c> per status present.</summary>
    /// <remarks>The <c>$match</c> on every status lets the planner answer from the <c>{ status, _id }</c> index alone.</remarks>
    internal static BsonDocument[] CountByStatus() =>
    [
        new("$match", new BsonDocument(TaskField.Status, new BsonDocument("$in", new BsonArray(Enum.GetNames<TaskState>())))),
        new("$group", new BsonDocument { { "_id", "$" + TaskField.Status }, { "count", new BsonDocument("$sum", 1) } }),
    ];

    private static readonly BsonArray FinishedStates = [nameof(TaskState.Succeeded), nameof(TaskState.Failed), nameof(TaskState.Cancelled)];

    /// <summary>Retention's candidates: finished tasks older than <paramref name="age"/> by the server's clock, oldest first, ids only.</summary>
    internal static BsonDocument[] FinishedBefore(TimeSpan age, int limit) =>
    [
        new("$match", new BsonDocument(TaskField.Status, new BsonDocument("$in", FinishedStates))),
        new("$match", new BsonDocument("$expr", new BsonDocument("$lt", new BsonArray
        {
            "$" + TaskField.FinishedAt,
            new BsonDocument("$subtract", new BsonArray { "$$NOW", new BsonDocument("$literal", (long)age.TotalMilliseconds) }),
        }))),
        new("$sort", new BsonDocument(TaskField.FinishedAt, 1)),
        new("$limit", limit),
        new("$project", new BsonDocument(TaskField.Id, 1)),
    ];

    /// <summary>Removes the retention's candidates, each still finished.</summary>
    internal static BsonDocument FinishedByIds(IEnumerable<BsonValue> ids) =>
        new()
        {
            { TaskField.Id, new BsonDocument("$in", new BsonArray(ids)) },
            { TaskField.Status, new BsonDocument("$in", FinishedStates) },
        };

    /// <summary>
    /// The rescue's candidates (<see cref="MongoRescuePlan"/>): Queued tasks whose owner is not a live node that keeps
    /// its queue (lost, never registered, none, or draining), and Running tasks whose owner is not a live node at all.
    /// <c>$nin</c> also matches a task with no worker. With no worker to receive a task only a Running task's lost last
    /// attempt can be written, so only those are read: a page full of tasks that cannot move would hide them.
    /// </summary>
    internal static BsonDocument RescueCandidatesFilter(RescueScope scope)
    {
        var lostRunning = new BsonDocument
        {
            { TaskField.Status, nameof(TaskState.Running) },
            { TaskField.Worker, new BsonDocument("$nin", new BsonArray(scope.Live)) },
        };
        if (scope.Targets.Count == 0)
        {
            lostRunning.Add("$expr", new BsonDocument("$gte", new BsonArray { "$" + TaskField.Attempt, "$" + TaskField.MaxAttempts }));
            return lostRunning;
        }

        return new BsonDocument("$or", new BsonArray
        {
            new BsonDocument
            {
                { TaskField.Status, nameof(TaskState.Queued) },
                { TaskField.Worker, new BsonDocument("$nin", new BsonArray(scope.KeepQueued)) },
            },
            lostRunning,
        });
    }

    internal static BsonDocument RescueCandidateOnly => new()
    {
        { TaskField.Id, 1 },
        { TaskField.Status, 1 },
        { TaskField.Worker, 1 },
        { TaskField.Attempt, 1 },
        { TaskField.MaxAttempts, 1 },
        { TaskField.AttemptToken, 1 },
    };

    /// <summary>
    /// One rescue write's condition: the task is still in the state it was found in, under the same owner (none
    /// included: <c>null</c> matches a missing field) and the same attempt token. Any transition since then changes the
    /// status or the token, so a task that moved on is never touched.
    /// </summary>
    internal static BsonDocument RescueFilter(RescueCandidate candidate) => new()
    {
        { TaskField.Id, Binary(candidate.Id) },
        { TaskField.Status, candidate.Status.ToString() },
        { TaskField.Worker, candidate.Worker is { } worker ? (BsonValue)worker : BsonNull.Value },
        { TaskField.AttemptToken, Binary(candidate.AttemptToken) },
    };

    /// <summary>A Queued task moves to <paramref name="target"/> with its attempt and due time unchanged.</summary>
    internal static BsonDocument[] RescueQueued(string target, Guid nextToken) => Set(new BsonDocument
    {
        { TaskField.Worker, Literal(target) },
        { TaskField.AttemptToken, Literal(Binary(nextToken)) },
    });

    /// <summary>
    /// A Running task whose worker was lost, with attempts left: the next attempt is <paramref name="target"/>'s, due
    /// after <paramref name="delay"/> by the server's clock, and the lost one enters the history under the lost worker
    /// (both read before this <c>$set</c>).
    /// </summary>
    internal static BsonDocument[] RescueLostAttempt(string target, Guid nextToken, TimeSpan delay, string error) => Set(new BsonDocument
    {
        { TaskField.Status, nameof(TaskState.Queued) },
        { TaskField.Worker, Literal(target) },
        { TaskField.Attempt, new BsonDocument("$add", new BsonArray { "$" + TaskField.Attempt, 1 }) },
        { TaskField.AttemptToken, Literal(Binary(nextToken)) },
        { TaskField.Error, Literal(error) },
        { TaskField.StartedAt, Remove },
        { TaskField.DueAt, NowPlus(delay) },
        { TaskField.History, AppendHistory(AttemptRecord.Lost, Literal(error)) },
    });

    /// <summary>A Running task whose worker was lost during its last attempt ends Failed; worker, token and start stay as they were.</summary>
    internal static BsonDocument[] FailLostAttempt(string error) => Set(new BsonDocument
    {
        { TaskField.Status, nameof(TaskState.Failed) },
        { TaskField.Error, Literal(error) },
        { TaskField.FinishedAt, Now },
        { TaskField.History, AppendHistory(AttemptRecord.Failed, Literal(error)) },
    });

    private static BsonDocument HistorySoFar => new("$ifNull", new BsonArray { "$" + TaskField.History, new BsonArray() });

    /// <summary>The history with the attempt that is ending appended; reads the attempt and worker before the $set.</summary>
    private static BsonDocument AppendHistory(string outcome, BsonValue error) => new("$concatArrays", new BsonArray
    {
        HistorySoFar,
        new BsonArray
        {
            new BsonDocument
            {
                { HistoryField.Attempt, "$" + TaskField.Attempt },
                { HistoryField.Worker, "$" + TaskField.Worker },
                { HistoryField.Outcome, Literal(outcome) },
                { HistoryField.Error, error },
                { HistoryField.EndedAt, Now },
            },
        },
    });

    private static BsonDocument ActiveStates() =>
        new("$in", new BsonArray { nameof(TaskState.Queued), nameof(TaskState.Running) });
}
