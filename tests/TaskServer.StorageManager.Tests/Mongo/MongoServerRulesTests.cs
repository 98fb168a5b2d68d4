using System.Reflection;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Mongo;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Tests.Mongo;

/// <summary>
/// Every command the provider builds, held to <see cref="MongoServerRules"/>. A new builder must join the catalogue
/// (<see cref="Every_command_builder_is_in_the_catalogue"/>), so the next command MongoDB would refuse fails here.
/// </summary>
public sealed class MongoServerRulesTests
{
    private static readonly Guid TaskId = Guid.Parse("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b");
    private static readonly Guid Token = Guid.Parse("11111111-2222-4333-8444-555555555555");
    private static readonly Fence Fence = new("gateway-primary", "gateway-a", 7);

    private static readonly IReadOnlySet<string> TaskFields = Constants(typeof(TaskField));
    private static readonly IReadOnlySet<string> LeaseFields = new HashSet<string>(Constants(typeof(MongoLeaseCommands))) { "_id" };
    private static readonly IReadOnlySet<string> NodeFields = new HashSet<string> { "_id", "role", "url", "queued", "running", "capacity", "quarantined", "draining", "lastSeen", "ageMs" };
    private static readonly IReadOnlySet<string> SchemaFields = new HashSet<string> { "_id", "version" };

    private enum Kind
    {
        Upsert,
        Update,
        LockTakingUpdate,
    }

    private sealed record Write(string Builder, Kind Kind, BsonDocument Query, BsonDocument[] Update, IReadOnlySet<string> Fields);

    private static IEnumerable<Write> Writes()
    {
        var newTask = new NewTask
        {
            Id = TaskId, Type = "$type", Payload = """{"$x":"$y"}""", MaxAttempts = 3, Worker = "$worker", AttemptToken = Token, IdempotencyKey = "$key",
            Owner = "$owner", Timeout = TimeSpan.FromSeconds(30),
        };
        yield return new("Create", Kind.Upsert, MongoTaskCommands.ById(TaskId), MongoTaskCommands.Create(newTask), TaskFields);
        foreach (var transition in Transitions())
        {
            yield return new("TransitionUpdate:" + transition.GetType().Name, Kind.Update, MongoTaskCommands.TransitionFilter(transition), MongoTaskCommands.TransitionUpdate(transition), TaskFields);
            yield return new("OutcomeUpdate:" + transition.GetType().Name, Kind.Update, MongoTaskCommands.TransitionFilter(transition), MongoTaskCommands.OutcomeUpdate(transition, Token), TaskFields);
        }

        yield return new("ClaimUpdate", Kind.Update, MongoTaskCommands.ClaimFilter([TaskId], "$worker"), MongoTaskCommands.ClaimUpdate(Token), TaskFields);
        foreach (var candidate in RescueCandidates())
        {
            var filter = MongoTaskCommands.RescueFilter(candidate);
            yield return new("RescueQueued", Kind.Update, filter, MongoTaskCommands.RescueQueued("$target", Token), TaskFields);
            yield return new("RescueLostAttempt", Kind.Update, filter, MongoTaskCommands.RescueLostAttempt("$target", Token, TimeSpan.FromSeconds(2), "$error"), TaskFields);
            yield return new("FailLostAttempt", Kind.Update, filter, MongoTaskCommands.FailLostAttempt("$error"), TaskFields);
        }

        yield return new("AcquireUpdate", Kind.Upsert, MongoLeaseCommands.AcquireFilter("gateway-primary"), MongoLeaseCommands.AcquireUpdate("$holder", "$url", "$app", Token, TimeSpan.FromSeconds(2)), LeaseFields);
        yield return new("TakeOverUpdate", Kind.Update, MongoLeaseCommands.TakeOverFilter("gateway-primary", 7, Token), MongoLeaseCommands.TakeOverUpdate("$holder", "$url", "$app", Token, TimeSpan.FromSeconds(2)), LeaseFields);
        yield return new("RenewUpdate", Kind.Update, MongoLeaseCommands.HeldFilter(Fence), MongoLeaseCommands.RenewUpdate(TimeSpan.FromSeconds(2)), LeaseFields);
        yield return new("ReleaseUpdate", Kind.Update, MongoLeaseCommands.HeldFilter(Fence), MongoLeaseCommands.ReleaseUpdate(), LeaseFields);
        yield return new("FenceTouch", Kind.LockTakingUpdate, MongoLeaseCommands.HeldFilter(Fence), MongoLeaseCommands.FenceTouch(), LeaseFields);
        yield return new("HeartbeatUpdate", Kind.Upsert, MongoNodeCommands.ById("$node"), MongoNodeCommands.HeartbeatUpdate(new NodeHeartbeat("$node", NodeRole.Worker, "$url", new NodeLoad(1, 2, 3, Quarantined: true, Draining: true))), NodeFields);
        yield return new("SchemaVersionUpdate", Kind.Upsert, new BsonDocument("_id", "tasks"), MongoStorageInitializer.SchemaVersionUpdate(), SchemaFields);
    }

    /// <summary>Every query of the tasks collection (finds, and the first <c>$match</c> of each aggregation).</summary>
    private static IEnumerable<(string Builder, BsonDocument Filter)> TaskQueries()
    {
        yield return ("ById", MongoTaskCommands.ById(TaskId));
        yield return ("ByIds", MongoTaskCommands.ByIds([TaskId]));
        yield return ("ByIdempotencyKey", MongoTaskCommands.ByIdempotencyKey("k"));
        yield return ("CreatedOrKeyed", MongoTaskCommands.CreatedOrKeyed([TaskId], ["k"]));
        yield return ("ListFilter", MongoTaskCommands.ListFilter(new TaskQuery { Status = TaskState.Queued }));
        yield return ("ListFilter", MongoTaskCommands.ListFilter(new TaskQuery { Type = "echo" }));
        yield return ("ListFilter", MongoTaskCommands.ListFilter(new TaskQuery { Owner = "client" }));
        yield return ("ActiveByWorkerFilter", MongoTaskCommands.ActiveByWorkerFilter("w"));
        yield return ("RunningByWorkerFilter", MongoTaskCommands.RunningByWorkerFilter("w"));
        yield return ("ClaimableFilter", MongoTaskCommands.ClaimableFilter("w"));
        yield return ("ClaimFilter", MongoTaskCommands.ClaimFilter([TaskId], "w"));
        yield return ("ClaimedFilter", MongoTaskCommands.ClaimedFilter(Token));
        yield return ("RescueCandidatesFilter", MongoTaskCommands.RescueCandidatesFilter(RescueScope.Of(LiveNodes)));
        yield return ("RescueCandidatesFilter", MongoTaskCommands.RescueCandidatesFilter(RescueScope.Of([])));
        foreach (var candidate in RescueCandidates())
        {
            yield return ("RescueFilter", MongoTaskCommands.RescueFilter(candidate));
        }

        yield return ("CountActiveByWorker", MongoTaskCommands.CountActiveByWorker("w")[0]["$match"].AsBsonDocument);
        yield return ("CountByStatus", MongoTaskCommands.CountByStatus()[0]["$match"].AsBsonDocument);
        yield return ("FinishedBefore", MongoTaskCommands.FinishedBefore(TimeSpan.FromDays(7), 500)[0]["$match"].AsBsonDocument);
        yield return ("FinishedByIds", MongoTaskCommands.FinishedByIds([new BsonBinaryData(TaskId, GuidRepresentation.Standard)]));
        foreach (var transition in Transitions())
        {
            yield return ("TransitionFilter", MongoTaskCommands.TransitionFilter(transition));
        }
    }

    /// <summary>Builders checked elsewhere in this class, by a rule of their own.</summary>
    private static readonly string[] Others =
    [
        "Read", "HolderConnections", "List", "ListLive", "LiveFilter", "StaleFilter", "HeldFilter", "AcquireFilter", "TakeOverFilter",
        "NewestFirst", "OldestFirst", "IdOnly", "CurrentAttemptOnly", "OutcomeOnly", "RescueCandidateOnly",
    ];

    [Fact]
    public void Every_command_builder_is_in_the_catalogue()
    {
        var catalogued = Writes().Select(w => w.Builder.Split(':')[0]).Concat(TaskQueries().Select(q => q.Builder)).Concat(Others).ToHashSet();
        var builders = new[] { typeof(MongoTaskCommands), typeof(MongoLeaseCommands), typeof(MongoNodeCommands) }
            .SelectMany(type => type.GetMembers(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
            .Where(member => member switch
            {
                MethodInfo method => !method.IsSpecialName && !method.IsPrivate && (method.ReturnType == typeof(BsonDocument) || method.ReturnType == typeof(BsonDocument[])),
                PropertyInfo property => property.GetMethod is { IsPrivate: false } && property.PropertyType == typeof(BsonDocument),
                _ => false,
            })
            .Select(member => member.Name);

        Assert.DoesNotContain(builders, name => !catalogued.Contains(name));
    }

    [Fact]
    public void No_upsert_puts_expr_in_its_query()
    {
        Assert.All(Writes().Where(w => w.Kind == Kind.Upsert), write => Assert.Empty(MongoServerRules.UpsertQueryViolations(write.Query)));
    }

    [Fact]
    public void Every_pipeline_update_uses_allowed_stages_known_fields_and_system_variables_only()
    {
        Assert.All(Writes(), write => Assert.True(
            !MongoServerRules.PipelineUpdateViolations(write.Update, write.Fields).Any(),
            $"{write.Builder}: {string.Join("; ", MongoServerRules.PipelineUpdateViolations(write.Update, write.Fields))}"));
    }

    [Fact]
    public void Every_filter_reads_only_fields_the_collection_has()
    {
        Assert.All(Writes(), write => Assert.Empty(MongoServerRules.FilterViolations(write.Query, write.Fields)));
    }

    [Fact]
    public void An_update_that_must_take_a_lock_always_modifies_the_document()
    {
        Assert.All(Writes().Where(w => w.Kind == Kind.LockTakingUpdate), write => Assert.Empty(MongoServerRules.LockTakingUpdateViolations(write.Update)));
    }

    [Fact]
    public void Every_task_query_is_served_by_an_index()
    {
        var indexes = TaskIndexes();

        Assert.All(TaskQueries(), query => Assert.True(MongoServerRules.HasIndex(query.Filter, indexes), $"{query.Builder}: {query.Filter} has no index"));
    }

    [Fact]
    public void The_failover_history_is_served_by_an_index()
    {
        var indexes = MongoStorageInitializer.FailoverIndexes().Select(i => (Render(i.Keys), (BsonDocument?)null));

        Assert.True(MongoServerRules.HasIndex(MongoFailoverLog.ListFilter("gateway-primary"), indexes));
        Assert.Equal(Render(MongoStorageInitializer.FailoverIndexes()[0].Keys).Names.Skip(1), MongoFailoverLog.NewestFirst.Names);
    }

    [Fact]
    public void The_holders_connections_are_asked_of_current_op_as_the_first_stage_with_idle_connections()
    {
        var stages = MongoLeaseCommands.HolderConnections("taskserver-lease-x");

        Assert.Equal("$currentOp", stages[0].GetElement(0).Name);
        Assert.True(stages[0]["$currentOp"]["idleConnections"].AsBoolean);
        Assert.True(stages[0]["$currentOp"]["allUsers"].AsBoolean);
        Assert.Equal(new BsonDocument("appName", "taskserver-lease-x"), stages[1]["$match"]);
    }

    [Fact]
    public void The_reads_of_a_fenced_transaction_use_only_stages_a_transaction_allows()
    {
        // The rescue reads the live nodes with this aggregation inside its transaction; its candidates and eviction's
        // look for a task are finds, which a transaction allows with any query.
        Assert.Empty(MongoServerRules.TransactionStageViolations(MongoNodeCommands.ListLive(TimeSpan.FromSeconds(5))));
    }

    // The rules themselves, each shown to catch the defect it was written for.

    [Fact]
    public void The_rules_refuse_a_stage_no_transaction_may_run()
    {
        BsonDocument[] stages = [new BsonDocument("$match", new BsonDocument()), new BsonDocument("$out", "elsewhere")];

        Assert.Single(MongoServerRules.TransactionStageViolations(stages));
        Assert.NotEmpty(MongoServerRules.TransactionStageViolations(MongoLeaseCommands.HolderConnections("app")));
    }

    [Fact]
    public void The_rules_refuse_the_acquisition_query_the_server_refused()
    {
        var refused = new BsonDocument
        {
            { "_id", "gateway-primary" },
            { "$or", new BsonArray { new BsonDocument("expiresAt", new BsonDocument("$exists", false)), new BsonDocument("$expr", new BsonDocument("$lte", new BsonArray { "$expiresAt", "$$NOW" })) } },
        };

        Assert.NotEmpty(MongoServerRules.UpsertQueryViolations(refused));
    }

    [Fact]
    public void The_rules_refuse_a_fence_touch_that_can_be_a_no_op()
    {
        BsonDocument[] sameMillisecond = [new BsonDocument("$set", new BsonDocument("fencedWriteAt", "$$NOW"))];

        Assert.NotEmpty(MongoServerRules.LockTakingUpdateViolations(sameMillisecond));
    }

    [Fact]
    public void The_rules_refuse_a_caller_value_outside_literal_a_disallowed_stage_and_an_unindexed_query()
    {
        BsonDocument[] update = [new BsonDocument("$set", new BsonDocument("error", "$5 off")), new BsonDocument("$match", new BsonDocument())];

        Assert.Equal(2, MongoServerRules.PipelineUpdateViolations(update, TaskFields).Count());
        Assert.False(MongoServerRules.HasIndex(new BsonDocument("payloadHash", "x"), TaskIndexes()));
        Assert.False(MongoServerRules.HasIndex(new BsonDocument(TaskField.Worker, "w"), TaskIndexes().Where(i => i.Partial is not null)));
    }

    private static List<(BsonDocument Keys, BsonDocument? Partial)> TaskIndexes() =>
    [
        (new BsonDocument("_id", 1), null),
        .. MongoStorageInitializer.TaskIndexes().Select(i => (Render(i.Keys), i.Options?.PartialFilterExpression is { } partial ? Render(partial) : null)),
    ];

    private static IEnumerable<TaskTransition> Transitions() =>
    [
        new StartAttempt(TaskId, Token, "$w"),
        new CompleteAttempt(TaskId, Token, """{"$a":"$b"}"""),
        new FailAttempt(TaskId, Token, "$e"),
        new RetryAttempt(TaskId, Token, "$e", Token, TimeSpan.FromSeconds(1)),
        new CancelTask(TaskId),
        new ReleaseAttempt(TaskId, Token, Token),
    ];

    /// <summary>Nodes whose ids look like field paths: a filter must hold them as values.</summary>
    private static readonly NodeRecord[] LiveNodes =
    [
        new("$gateway", NodeRole.Gateway, "http://g", new NodeLoad(0, 0, 0), DateTimeOffset.UnixEpoch, TimeSpan.Zero),
        new("$worker", NodeRole.Worker, "http://w", new NodeLoad(0, 0, 8), DateTimeOffset.UnixEpoch, TimeSpan.Zero),
        new("$draining", NodeRole.Worker, "http://d", new NodeLoad(0, 0, 8, Draining: true), DateTimeOffset.UnixEpoch, TimeSpan.Zero),
    ];

    private static IEnumerable<RescueCandidate> RescueCandidates() =>
    [
        new(TaskId, TaskState.Queued, "$lost", 1, 3, Token),
        new(TaskId, TaskState.Running, Worker: null, 2, 3, Token),
    ];

    private static HashSet<string> Constants(Type type) =>
        [.. type.GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!)];

    private static BsonDocument Render(IndexKeysDefinition<BsonDocument> keys) => keys.Render(Args());

    private static BsonDocument Render(FilterDefinition<BsonDocument> filter) => filter.Render(Args());

    private static RenderArgs<BsonDocument> Args() => new(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry);
}
