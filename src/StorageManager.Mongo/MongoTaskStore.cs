using MongoDB.Bson;
using MongoDB.Driver;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Mongo;

internal sealed class MongoTaskStore(MongoCollections collections, MongoFencedWriter fencedWriter) : ITaskStore
{
    private static readonly TransitionResult NotFound = new(TransitionOutcome.NotFound, null);

    private static FindOneAndUpdateOptions<BsonDocument> UpsertReturningAfter => new()
    {
        IsUpsert = true,
        ReturnDocument = ReturnDocument.After,
    };

    private static FindOneAndUpdateOptions<BsonDocument> ReturningAfter => new() { ReturnDocument = ReturnDocument.After };

    private IMongoCollection<BsonDocument> Tasks => collections.Tasks;

    public async Task<CreateResult> CreateAsync(NewTask task, CancellationToken cancellationToken)
    {
        try
        {
            var created = await Tasks.FindOneAndUpdateAsync(
                MongoTaskCommands.ById(task.Id),
                MongoCommands.Update(MongoTaskCommands.Create(task)),
                UpsertReturningAfter,
                cancellationToken);
            return new CreateResult(CreateOutcome.Created, MongoTaskDocuments.ToTask(created));
        }
        catch (MongoException e) when (task.IdempotencyKey is not null && MongoCommands.IsDuplicateKey(e))
        {
            // The other request's insert has committed locally but may not be majority-committed yet: a majority
            // read could still miss it, a local read on the primary cannot.
            var stored = await Tasks.WithReadConcern(ReadConcern.Local)
                .Find(MongoTaskCommands.ByIdempotencyKey(task.IdempotencyKey))
                .FirstOrDefaultAsync(cancellationToken)
                ?? throw new InvalidOperationException(
                    $"Task with idempotency key '{task.IdempotencyKey}' conflicted on insert but cannot be read.", e);
            var existing = MongoTaskDocuments.ToTask(stored);
            var outcome = existing.PayloadHash == task.PayloadHash ? CreateOutcome.Existing : CreateOutcome.IdempotencyConflict;
            return new CreateResult(outcome, existing);
        }
    }

    public async Task<TaskRecord?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var document = await Tasks.Find(MongoTaskCommands.ById(id)).FirstOrDefaultAsync(cancellationToken);
        return document is null ? null : MongoTaskDocuments.ToTask(document);
    }

    public Task<IReadOnlyList<TaskRecord>> ListAsync(TaskQuery query, CancellationToken cancellationToken) =>
        ToListAsync(
            Tasks.Find(MongoTaskCommands.ListFilter(query)).Sort(MongoTaskCommands.NewestFirst).Limit(query.Limit),
            cancellationToken);

    public Task<TransitionResult> ApplyAsync(TaskTransition transition, CancellationToken cancellationToken) =>
        transition is RequeueTask requeue
            ? fencedWriter.RunAsync(
                requeue.Fence,
                new TransitionResult(TransitionOutcome.Fenced, null),
                (session, token) => TransitionAsync(session, transition, token),
                cancellationToken)
            : TransitionAsync(session: null, transition, cancellationToken);

    public Task<IReadOnlyList<TaskRecord>> ListActiveByWorkerAsync(string worker, int limit, CancellationToken cancellationToken) =>
        ToListAsync(
            Tasks.Find(MongoTaskCommands.ActiveByWorkerFilter(worker)).Sort(MongoTaskCommands.OldestFirst).Limit(limit),
            cancellationToken);

    public async Task<ActiveCounts> CountActiveByWorkerAsync(string worker, CancellationToken cancellationToken)
    {
        var groups = await Tasks.Aggregate<BsonDocument>(MongoTaskCommands.CountActiveByWorker(worker), cancellationToken: cancellationToken)
            .ToListAsync(cancellationToken);
        int Count(TaskState state) => groups.FirstOrDefault(g => g["_id"] == state.ToString())?["count"].ToInt32() ?? 0;
        return new ActiveCounts(Count(TaskState.Queued), Count(TaskState.Running), groups.Sum(g => g["due"].ToInt32()));
    }

    public Task<IReadOnlyList<TaskRecord>> ListRunningAsync(Guid? after, int limit, CancellationToken cancellationToken) =>
        ToListAsync(
            Tasks.Find(MongoTaskCommands.RunningFilter(after)).Sort(MongoTaskCommands.OldestFirst).Limit(limit),
            cancellationToken);

    public async Task<IReadOnlyList<CreateResult>> CreateManyAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken)
    {
        var results = new List<CreateResult>(tasks.Count);
        foreach (var task in tasks)
        {
            results.Add(await CreateAsync(task, cancellationToken));
        }

        return results;
    }

    public async Task<IReadOnlyDictionary<TaskState, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        var groups = await Tasks.Aggregate<BsonDocument>(MongoTaskCommands.CountByStatus(), cancellationToken: cancellationToken).ToListAsync(cancellationToken);
        var counts = Enum.GetValues<TaskState>().ToDictionary(state => state, _ => 0L);
        foreach (var group in groups)
        {
            counts[Enum.Parse<TaskState>(group["_id"].AsString)] = group["count"].ToInt64();
        }

        return counts;
    }

    public async Task<IReadOnlyList<TaskRecord>> ClaimAsync(string worker, string jobId, int limit, CancellationToken cancellationToken)
    {
        var candidates = await Tasks.Find(MongoTaskCommands.ClaimableFilter(worker))
            .Sort(MongoTaskCommands.OldestFirst).Limit(limit).Project(MongoTaskCommands.IdOnly).ToListAsync(cancellationToken);
        var claimed = new List<TaskRecord>(candidates.Count);
        foreach (var candidate in candidates)
        {
            // Each candidate is claimed by a conditional write: of two claimants, one finds it no longer Queued.
            var started = await Tasks.FindOneAndUpdateAsync(
                MongoTaskCommands.ClaimFilter(MongoTaskDocuments.ToGuid(candidate[TaskField.Id]), worker),
                MongoCommands.Update(MongoTaskCommands.ClaimUpdate(jobId)),
                ReturningAfter,
                cancellationToken);
            if (started is not null)
            {
                claimed.Add(MongoTaskDocuments.ToTask(started));
            }
        }

        return claimed;
    }

    public async Task<IReadOnlyList<TransitionOutcome>> ApplyOutcomesAsync(IReadOnlyList<TaskTransition> outcomes, CancellationToken cancellationToken)
    {
        var results = new List<TransitionOutcome>(outcomes.Count);
        foreach (var outcome in outcomes)
        {
            if (outcome is not (CompleteAttempt or FailAttempt or RetryAttempt))
            {
                throw new ArgumentException($"{outcome.GetType().Name} is not an attempt's outcome.", nameof(outcomes));
            }

            var applied = await TransitionAsync(session: null, outcome, cancellationToken);
            results.Add(applied.Applied ? TransitionOutcome.Applied : TransitionOutcome.Conflict);
        }

        return results;
    }

    public async Task<IReadOnlyList<CurrentAttempt>> GetCurrentAttemptsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
    {
        var documents = await Tasks.Find(MongoTaskCommands.ByIds(ids)).Project(MongoTaskCommands.CurrentAttemptOnly).ToListAsync(cancellationToken);
        return documents.ConvertAll(d => new CurrentAttempt(
            MongoTaskDocuments.ToGuid(d[TaskField.Id]),
            Enum.Parse<TaskState>(d[TaskField.Status].AsString),
            MongoTaskDocuments.ToGuid(d[TaskField.AttemptToken])));
    }

    /// <summary>One conditional write; on a miss, the task as it stands tells a conflict from an unknown id.</summary>
    private async Task<TransitionResult> TransitionAsync(IClientSessionHandle? session, TaskTransition transition, CancellationToken cancellationToken)
    {
        var filter = MongoTaskCommands.TransitionFilter(transition);
        var update = MongoCommands.Update(MongoTaskCommands.TransitionUpdate(transition));
        var applied = session is null
            ? await Tasks.FindOneAndUpdateAsync(filter, update, ReturningAfter, cancellationToken)
            : await Tasks.FindOneAndUpdateAsync(session, filter, update, ReturningAfter, cancellationToken);
        if (applied is not null)
        {
            return new TransitionResult(TransitionOutcome.Applied, MongoTaskDocuments.ToTask(applied));
        }

        var byId = MongoTaskCommands.ById(transition.TaskId);
        var current = await (session is null ? Tasks.Find(byId) : Tasks.Find(session, byId)).FirstOrDefaultAsync(cancellationToken);
        return current is null ? NotFound : new TransitionResult(TransitionOutcome.Conflict, MongoTaskDocuments.ToTask(current));
    }

    private static async Task<IReadOnlyList<TaskRecord>> ToListAsync(IFindFluent<BsonDocument, BsonDocument> find, CancellationToken cancellationToken)
    {
        var documents = await find.ToListAsync(cancellationToken);
        return documents.ConvertAll(MongoTaskDocuments.ToTask);
    }
}
