using MongoDB.Bson;
using MongoDB.Driver;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Mongo;

internal sealed class MongoTaskStore(MongoCollections collections, MongoFencedWriter fencedWriter) : ITaskStore
{
    private static readonly TransitionResult NotFound = new(TransitionOutcome.NotFound, null);

    private static FindOneAndUpdateOptions<BsonDocument> ReturningAfter => new() { ReturnDocument = ReturnDocument.After };

    private static BulkWriteOptions Unordered => new() { IsOrdered = false };

    private IMongoCollection<BsonDocument> Tasks => collections.Tasks;

    /// <summary>
    /// A write's own effect, read back on the primary: a majority read could still miss a write that is committed
    /// locally but not yet majority-committed (a concurrent request's insert of the same idempotency key).
    /// </summary>
    private IMongoCollection<BsonDocument> TasksAsWritten => collections.Tasks.WithReadConcern(ReadConcern.Local);

    private TimeSpan Bound => collections.Bounds.Call;

    public async Task<CreateResult> CreateAsync(NewTask task, CancellationToken cancellationToken) =>
        (await CreateManyAsync([task], cancellationToken))[0];

    /// <summary>
    /// One unordered bulk write of upserts by id (an insert cannot take <c>createdAt</c> and <c>dueAt</c> from the
    /// server's clock; an upsert's pipeline can), each refused alone when its idempotency key is taken; then one read
    /// of what was created and of the tasks holding the taken keys. A key repeated inside the set is sent once, so the
    /// first task in the set that names it is the one created. A set sent again after a write whose reply was lost
    /// finds each task it already wrote under the task's own id: the upsert leaves it as it stands and it is reported
    /// Created, as PostgreSQL reports a row found under the request's own id.
    /// </summary>
    public async Task<IReadOnlyList<CreateResult>> CreateManyAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken)
    {
        var sent = new List<int>(tasks.Count);
        var keysSent = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tasks.Count; i++)
        {
            if (tasks[i].IdempotencyKey is not { } key || keysSent.Add(key))
            {
                sent.Add(i);
            }
        }

        if (sent.Count == 0)
        {
            return [];
        }

        var refused = await MongoBounds.RunAsync(Bound, token => CreateAsync(sent.Select(i => tasks[i]).ToList(), token), cancellationToken);
        var created = sent.Where((_, position) => !refused.Contains(position)).Select(i => tasks[i].Id).ToHashSet();
        var taken = tasks.Where((task, i) => !created.Contains(task.Id) && task.IdempotencyKey is not null).Select(t => t.IdempotencyKey!).Distinct().ToList();
        var stored = await MongoBounds.RunAsync(
            Bound,
            token => TasksAsWritten.Find(MongoTaskCommands.CreatedOrKeyed(created, taken)).ToListAsync(token),
            cancellationToken);
        var records = stored.ConvertAll(MongoTaskDocuments.ToTask);
        var byId = records.ToDictionary(t => t.Id);
        var byKey = records.Where(t => t.IdempotencyKey is not null).ToDictionary(t => t.IdempotencyKey!, StringComparer.Ordinal);

        return [.. tasks.Select(task =>
        {
            if (created.Contains(task.Id))
            {
                return new CreateResult(CreateOutcome.Created, byId.GetValueOrDefault(task.Id)
                    ?? throw new InvalidOperationException($"Task {task.Id} was created but cannot be read."));
            }

            var existing = byKey.GetValueOrDefault(task.IdempotencyKey!)
                ?? throw new InvalidOperationException($"Task with idempotency key '{task.IdempotencyKey}' conflicted on insert but cannot be read.");
            return new CreateResult(existing.PayloadHash == task.PayloadHash ? CreateOutcome.Existing : CreateOutcome.IdempotencyConflict, existing);
        })];
    }

    public async Task<TaskRecord?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var document = await MongoBounds.RunAsync(Bound, token => Tasks.Find(MongoTaskCommands.ById(id)).FirstOrDefaultAsync(token), cancellationToken);
        return document is null ? null : MongoTaskDocuments.ToTask(document);
    }

    public Task<IReadOnlyList<TaskRecord>> ListAsync(TaskQuery query, CancellationToken cancellationToken) =>
        ToListAsync(
            Tasks.Find(MongoTaskCommands.ListFilter(query)).Sort(MongoTaskCommands.NewestFirst).Limit(query.Limit),
            cancellationToken);

    public Task<TransitionResult> ApplyAsync(TaskTransition transition, CancellationToken cancellationToken) =>
        MongoBounds.RunAsync(Bound, token => TransitionAsync(transition, token), cancellationToken);

    public Task<IReadOnlyList<TaskRecord>> ListRunningByWorkerAsync(string worker, int limit, CancellationToken cancellationToken) =>
        ToListAsync(
            Tasks.Find(MongoTaskCommands.RunningByWorkerFilter(worker)).Sort(MongoTaskCommands.OldestFirst).Limit(limit),
            cancellationToken);

    public async Task<ActiveCounts> CountActiveByWorkerAsync(string worker, CancellationToken cancellationToken)
    {
        var groups = await AggregateAsync(MongoTaskCommands.CountActiveByWorker(worker), cancellationToken);
        int Count(TaskState state) => groups.FirstOrDefault(g => g["_id"] == state.ToString())?["count"].ToInt32() ?? 0;
        return new ActiveCounts(Count(TaskState.Queued), Count(TaskState.Running), groups.Sum(g => g["due"].ToInt32()));
    }

    /// <summary>
    /// The rescue as MongoDB allows it. PostgreSQL judges and writes it all in one statement; a MongoDB write cannot read
    /// another collection, so here it takes two steps. First, outside any transaction, two reads: the live nodes, and
    /// whether any task is a candidate. Most sweeps find none and end there, with a third read, of the lease, to answer
    /// whether the fence holds; nothing is written. Otherwise one fenced transaction (<see cref="MongoFencedWriter"/>)
    /// reads the live nodes and up to <see cref="RescueRequest.Limit"/> candidates again, writes one conditional update
    /// per task in one unordered bulk write, and touches the lease last.
    /// <para>
    /// Atomic, as in PostgreSQL: the rescue commits whole or not at all, and only while the fence holds by the server's
    /// clock (the lease touch conflicts with an acquisition, and with every other fenced write, such as an eviction, so
    /// those are serialised with it). Each task's update is conditioned on its status, owner and attempt token as read,
    /// and was read in the same transaction: a task written by anyone after the transaction's snapshot is a write
    /// conflict, upon which the whole transaction runs again on fresh reads; it is never moved from a state it no
    /// longer has. Owner liveness and the targets are judged on that same snapshot of the nodes, as PostgreSQL judges
    /// them on its statement's snapshot: a heartbeat committed after it does not keep what the rescue takes, here as
    /// there (the node document is only read, so the heartbeat conflicts with nothing).
    /// </para>
    /// <para>
    /// Not atomic as in PostgreSQL: the verdicts on the nodes are as old, at the commit, as the transaction's few round
    /// trips rather than one statement. A worker whose heartbeat lands in between loses its tasks all the same, and its
    /// late outcomes are refused by their old tokens, as for any worker declared dead; a target that leaves or starts
    /// draining in between may receive tasks, which the next rescue moves on (their owner is then not live, or
    /// draining). The candidates the first step saw only decide whether to open the transaction; the transaction
    /// writes what it read itself.
    /// </para>
    /// </summary>
    public async Task<RescueResult> RescueAsync(RescueRequest request, Leases.Fence fence, CancellationToken cancellationToken)
    {
        var anyCandidate = request.Limit > 0
            && (await MongoBounds.RunAsync(Bound, token => ReadRescueAsync(session: null, request.WorkerTimeout, limit: 1, token), cancellationToken)).Candidates.Count > 0;
        if (!anyCandidate)
        {
            var held = await MongoBounds.RunAsync(
                Bound,
                token => collections.Leases.Find(MongoLeaseCommands.HeldFilter(fence)).AnyAsync(token),
                cancellationToken);
            return new RescueResult(!held, []);
        }

        return await fencedWriter.RunAsync(
            fence,
            new RescueResult(Fenced: true, []),
            async (session, token) =>
            {
                var (scope, candidates) = await ReadRescueAsync(session, request.WorkerTimeout, request.Limit, token);
                var steps = MongoRescuePlan.Plan(scope, candidates, request.Backoff, Guid.NewGuid, Random.Shared.NextDouble);
                if (steps.Count > 0)
                {
                    var written = await Tasks.BulkWriteAsync(
                        session,
                        steps.Select(step => new UpdateOneModel<BsonDocument>(step.Filter, MongoCommands.Update(step.Update))),
                        Unordered,
                        token);
                    // Every step was planned from this transaction's snapshot, so each filter matches what it was read
                    // from, and a task changed since is a write conflict, not a miss. A miss would mean that reasoning
                    // failed: abort rather than report moves that were not made.
                    if (written.ModifiedCount != steps.Count)
                    {
                        throw new InvalidOperationException(
                            $"The rescue updated {written.ModifiedCount} of the {steps.Count} tasks it read in its own transaction.");
                    }
                }

                return new RescueResult(Fenced: false, [.. steps.Select(step => step.Task)]);
            },
            cancellationToken);
    }

    public async Task<int> DeleteFinishedBeforeAsync(TimeSpan age, int limit, CancellationToken cancellationToken)
    {
        var candidates = await AggregateAsync(MongoTaskCommands.FinishedBefore(age, limit), cancellationToken);
        if (candidates.Count == 0)
        {
            return 0;
        }

        var deleted = await MongoBounds.RunAsync(
            Bound,
            token => Tasks.DeleteManyAsync(MongoTaskCommands.FinishedByIds(candidates.Select(c => c[TaskField.Id])), token),
            cancellationToken);
        return (int)deleted.DeletedCount;
    }

    public async Task<IReadOnlyDictionary<TaskState, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        var groups = await AggregateAsync(MongoTaskCommands.CountByStatus(), cancellationToken);
        var counts = Enum.GetValues<TaskState>().ToDictionary(state => state, _ => 0L);
        foreach (var group in groups)
        {
            counts[Enum.Parse<TaskState>(group["_id"].AsString)] = group["count"].ToInt64();
        }

        return counts;
    }

    /// <summary>
    /// Four round trips for the set, whatever its size: the claimant's own node, which must be live by the server's
    /// clock; the due candidates, oldest first; one update of those still Queued and due, each document atomically
    /// and under a claim id drawn for this call; the documents carrying that id. A candidate a concurrent claimant
    /// took first no longer matches the update, so no task is returned twice. A rescue that judged this worker silent
    /// from a snapshot taken before the update writes the same documents in its transaction, so one of the two meets
    /// a write conflict rather than both succeeding.
    /// </summary>
    public async Task<IReadOnlyList<TaskRecord>> ClaimAsync(string worker, int limit, TimeSpan workerTimeout, CancellationToken cancellationToken)
    {
        if (limit <= 0)
        {
            return [];
        }

        var live = await MongoBounds.RunAsync(
            Bound,
            token => collections.Nodes.Find(MongoNodeCommands.LiveFilter(worker, workerTimeout)).AnyAsync(token),
            cancellationToken);
        if (!live)
        {
            return [];
        }

        var candidates = await MongoBounds.RunAsync(
            Bound,
            token => Tasks.Find(MongoTaskCommands.ClaimableFilter(worker)).Sort(MongoTaskCommands.OldestFirst).Limit(limit)
                .Project(MongoTaskCommands.IdOnly).ToListAsync(token),
            cancellationToken);
        if (candidates.Count == 0)
        {
            return [];
        }

        var claimId = Guid.NewGuid();
        var claimed = await MongoBounds.RunAsync(
            Bound,
            token => Tasks.UpdateManyAsync(
                MongoTaskCommands.ClaimFilter(candidates.Select(c => MongoTaskDocuments.ToGuid(c[TaskField.Id])), worker),
                MongoCommands.Update(MongoTaskCommands.ClaimUpdate(claimId)),
                cancellationToken: token),
            cancellationToken);
        return claimed.ModifiedCount == 0
            ? []
            : await ToListAsync(TasksAsWritten.Find(MongoTaskCommands.ClaimedFilter(claimId)).Sort(MongoTaskCommands.OldestFirst), cancellationToken);
    }

    /// <summary>
    /// One unordered bulk write of conditional updates, each with the filter <see cref="ApplyAsync"/> gives it alone,
    /// then one read of the tasks: an outcome was applied exactly when its task carries the outcome id drawn for it
    /// (MongoDB reports a bulk write's counts, not which of its updates matched).
    /// </summary>
    public async Task<IReadOnlyList<TransitionOutcome>> ApplyOutcomesAsync(IReadOnlyList<TaskTransition> outcomes, CancellationToken cancellationToken)
    {
        foreach (var outcome in outcomes)
        {
            if (outcome is not (CompleteAttempt or FailAttempt or RetryAttempt))
            {
                throw new ArgumentException($"{outcome.GetType().Name} is not an attempt's outcome.", nameof(outcomes));
            }
        }

        if (outcomes.Count == 0)
        {
            return [];
        }

        var markers = outcomes.Select(_ => Guid.NewGuid()).ToList();
        var models = outcomes.Select((outcome, i) => new UpdateOneModel<BsonDocument>(
            MongoTaskCommands.TransitionFilter(outcome),
            MongoCommands.Update(MongoTaskCommands.OutcomeUpdate(outcome, markers[i])))).ToList();
        await MongoBounds.RunAsync(Bound, token => Tasks.BulkWriteAsync(models, Unordered, token), cancellationToken);

        var written = await MongoBounds.RunAsync(
            Bound,
            token => TasksAsWritten.Find(MongoTaskCommands.ByIds(outcomes.Select(o => o.TaskId).Distinct())).Project(MongoTaskCommands.OutcomeOnly).ToListAsync(token),
            cancellationToken);
        var markerOf = written.Where(d => d.Contains(TaskField.OutcomeId))
            .ToDictionary(d => MongoTaskDocuments.ToGuid(d[TaskField.Id]), d => MongoTaskDocuments.ToGuid(d[TaskField.OutcomeId]));
        return [.. outcomes.Select((outcome, i) =>
            markerOf.TryGetValue(outcome.TaskId, out var marker) && marker == markers[i] ? TransitionOutcome.Applied : TransitionOutcome.Conflict)];
    }

    public async Task<IReadOnlyList<CurrentAttempt>> GetCurrentAttemptsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
    {
        var documents = await MongoBounds.RunAsync(
            Bound,
            token => Tasks.Find(MongoTaskCommands.ByIds(ids)).Project(MongoTaskCommands.CurrentAttemptOnly).ToListAsync(token),
            cancellationToken);
        return documents.ConvertAll(d => new CurrentAttempt(
            MongoTaskDocuments.ToGuid(d[TaskField.Id]),
            Enum.Parse<TaskState>(d[TaskField.Status].AsString),
            MongoTaskDocuments.ToGuid(d[TaskField.AttemptToken])));
    }

    /// <summary>The upserts of a set; returns the positions (in <paramref name="tasks"/>) whose idempotency key was taken.</summary>
    private async Task<HashSet<int>> CreateAsync(List<NewTask> tasks, CancellationToken cancellationToken)
    {
        var models = tasks.Select(task => new UpdateOneModel<BsonDocument>(
            MongoTaskCommands.ById(task.Id),
            MongoCommands.Update(MongoTaskCommands.Create(task))) { IsUpsert = true });
        try
        {
            await Tasks.BulkWriteAsync(models, Unordered, cancellationToken);
            return [];
        }
        catch (MongoBulkWriteException<BsonDocument> e) when (e.WriteConcernError is null
            && e.WriteErrors.All(error => error.Category == ServerErrorCategory.DuplicateKey && tasks[error.Index].IdempotencyKey is not null))
        {
            // Only the unique idempotency key can refuse an upsert by id, and only for a task that names a key.
            return [.. e.WriteErrors.Select(error => error.Index)];
        }
    }

    /// <summary>One conditional write; on a miss, the task as it stands on the primary tells a conflict from an unknown id.</summary>
    private async Task<TransitionResult> TransitionAsync(TaskTransition transition, CancellationToken cancellationToken)
    {
        var applied = await Tasks.FindOneAndUpdateAsync(
            MongoTaskCommands.TransitionFilter(transition),
            MongoCommands.Update(MongoTaskCommands.TransitionUpdate(transition)),
            ReturningAfter,
            cancellationToken);
        if (applied is not null)
        {
            return new TransitionResult(TransitionOutcome.Applied, MongoTaskDocuments.ToTask(applied));
        }

        var current = await TasksAsWritten.Find(MongoTaskCommands.ById(transition.TaskId)).FirstOrDefaultAsync(cancellationToken);
        return current is null ? NotFound : new TransitionResult(TransitionOutcome.Conflict, MongoTaskDocuments.ToTask(current));
    }

    /// <summary>
    /// The live nodes (by the server's clock) and, oldest first, up to <paramref name="limit"/> tasks that a rescue
    /// would write; in <paramref name="session"/>'s transaction when given, so both come from its snapshot.
    /// </summary>
    private async Task<(RescueScope Scope, List<RescueCandidate> Candidates)> ReadRescueAsync(
        IClientSessionHandle? session,
        TimeSpan workerTimeout,
        int limit,
        CancellationToken cancellationToken)
    {
        var live = MongoCommands.Pipeline(MongoNodeCommands.ListLive(workerTimeout));
        using var cursor = session is null
            ? await collections.Nodes.AggregateAsync(live, cancellationToken: cancellationToken)
            : await collections.Nodes.AggregateAsync(session, live, cancellationToken: cancellationToken);
        var scope = RescueScope.Of((await cursor.ToListAsync(cancellationToken)).ConvertAll(MongoNodeCommands.ToNode));

        var filter = MongoTaskCommands.RescueCandidatesFilter(scope);
        var candidates = await (session is null ? Tasks.Find(filter) : Tasks.Find(session, filter))
            .Sort(MongoTaskCommands.OldestFirst)
            .Limit(limit)
            .Project(MongoTaskCommands.RescueCandidateOnly)
            .ToListAsync(cancellationToken);
        return (scope, candidates.ConvertAll(RescueCandidate.From));
    }

    private Task<List<BsonDocument>> AggregateAsync(BsonDocument[] stages, CancellationToken cancellationToken) =>
        MongoBounds.RunAsync(
            Bound,
            async token =>
            {
                using var cursor = await Tasks.AggregateAsync(MongoCommands.Pipeline(stages), cancellationToken: token);
                return await cursor.ToListAsync(token);
            },
            cancellationToken);

    private async Task<IReadOnlyList<TaskRecord>> ToListAsync(IFindFluent<BsonDocument, BsonDocument> find, CancellationToken cancellationToken)
    {
        var documents = await MongoBounds.RunAsync(Bound, find.ToListAsync, cancellationToken);
        return documents.ConvertAll(MongoTaskDocuments.ToTask);
    }
}
