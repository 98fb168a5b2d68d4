using System.Net;
using System.Text.Json.Nodes;
using MongoDB.Bson;
using MongoDB.Bson.IO;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;
using MongoDB.Driver.Core.Clusters;
using MongoDB.Driver.Core.Connections;
using MongoDB.Driver.Core.Servers;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Mongo;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Tests.Mongo;

/// <summary>
/// The Mongo provider's commands rendered to BSON, no server needed. Expected shapes are written in mongo shell
/// syntax (<c>UUID("…")</c> is binary subtype 4, <c>NumberLong</c> an Int64) and compared as canonical extended
/// JSON, so field order and numeric types count.
/// </summary>
public sealed class MongoCommandRenderingTests
{
    private static readonly Guid TaskId = Guid.Parse("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b");
    private static readonly Guid Token = Guid.Parse("11111111-2222-4333-8444-555555555555");
    private static readonly Guid NextToken = Guid.Parse("66666666-7777-4888-9999-aaaaaaaaaaaa");
    private static readonly Fence Fence = new("gateway-primary", "gateway-a", 7);

    [Fact]
    public void Start_filter_requires_queued_status_and_the_attempt_token()
    {
        AssertBson(
            """{ _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"), status: { $in: ["Queued"] }, attemptToken: UUID("11111111-2222-4333-8444-555555555555") }""",
            MongoTaskCommands.TransitionFilter(new StartAttempt(TaskId, Token, "worker-b")));
    }

    [Fact]
    public void A_workers_load_is_counted_by_status_over_its_active_tasks()
    {
        AssertBson(
            """
            [
              { $match: { worker: "worker-b", status: { $in: ["Queued", "Running"] } } },
              { $group: { _id: "$status", count: { $sum: 1 }, due: { $sum: { $cond: [{ $and: [{ $eq: ["$status", "Queued"] }, { $lte: ["$dueAt", "$$NOW"] }] }, 1, 0] } } } }
            ]
            """,
            MongoTaskCommands.CountActiveByWorker("worker-b"));
    }

    [Fact]
    public void Start_sets_running_the_worker_and_the_server_start_time()
    {
        AssertBson(
            """[{ $set: { status: "Running", worker: { $literal: "worker-b" }, startedAt: "$$NOW" } }]""",
            MongoTaskCommands.TransitionUpdate(new StartAttempt(TaskId, Token, "worker-b")));
    }

    [Fact]
    public void Complete_requires_running_and_stores_the_result_as_bson_with_the_server_finish_time()
    {
        var complete = new CompleteAttempt(TaskId, Token, """{"answer":[1,2,3]}""");

        AssertBson(
            """{ _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"), status: { $in: ["Running"] }, attemptToken: UUID("11111111-2222-4333-8444-555555555555") }""",
            MongoTaskCommands.TransitionFilter(complete));
        AssertBson(
            """[{ $set: { status: "Succeeded", result: { $literal: { answer: [1, 2, 3] } }, error: "$$REMOVE", finishedAt: "$$NOW" } }]""",
            MongoTaskCommands.TransitionUpdate(complete));
    }

    [Fact]
    public void Fail_records_the_error_and_the_server_finish_time()
    {
        AssertBson(
            """[{ $set: { status: "Failed", error: { $literal: "boom" }, finishedAt: "$$NOW", history: { $concatArrays: [{ $ifNull: ["$history", []] }, [{ attempt: "$attempt", worker: "$worker", outcome: { $literal: "failed" }, error: { $literal: "boom" }, endedAt: "$$NOW" }]] } } }]""",
            MongoTaskCommands.TransitionUpdate(new FailAttempt(TaskId, Token, "boom")));
    }

    [Fact]
    public void Retry_filter_requires_running_the_attempt_token_and_an_attempt_left()
    {
        AssertBson(
            """
            {
              _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"),
              status: { $in: ["Running"] },
              attemptToken: UUID("11111111-2222-4333-8444-555555555555"),
              $expr: { $lt: ["$attempt", "$maxAttempts"] }
            }
            """,
            MongoTaskCommands.TransitionFilter(new RetryAttempt(TaskId, Token, "boom", NextToken)));
    }

    [Fact]
    public void Retry_opens_the_next_attempt_with_the_new_token_and_forgets_the_start_and_the_job()
    {
        AssertBson(
            """
            [{ $set: {
              status: "Queued",
              worker: "$worker",
              attempt: { $add: ["$attempt", 1] },
              attemptToken: { $literal: UUID("66666666-7777-4888-9999-aaaaaaaaaaaa") },
              error: { $literal: "boom" },
              startedAt: "$$REMOVE",
              dueAt: { $add: ["$$NOW", NumberLong(1500)] },
              history: { $concatArrays: [{ $ifNull: ["$history", []] }, [{ attempt: "$attempt", worker: "$worker", outcome: { $literal: "retried" }, error: { $literal: "boom" }, endedAt: "$$NOW" }]] }
            } }]
            """,
            MongoTaskCommands.TransitionUpdate(new RetryAttempt(TaskId, Token, "boom", NextToken, TimeSpan.FromMilliseconds(1500))));
    }

    [Fact]
    public void A_retry_handed_to_another_worker_sets_that_worker()
    {
        var stages = MongoTaskCommands.TransitionUpdate(new RetryAttempt(TaskId, Token, "boom", NextToken, TimeSpan.Zero, "worker-b"));

        Assert.Equal(BsonDocument.Parse("""{ $literal: "worker-b" }"""), stages[0]["$set"]["worker"]);
    }

    [Fact]
    public void Cancel_accepts_any_attempt_of_a_queued_or_running_task()
    {
        var cancel = new CancelTask(TaskId);

        AssertBson(
            """{ _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"), status: { $in: ["Queued", "Running"] } }""",
            MongoTaskCommands.TransitionFilter(cancel));
        AssertBson("""[{ $set: { status: "Cancelled", finishedAt: "$$NOW" } }]""", MongoTaskCommands.TransitionUpdate(cancel));
    }

    [Fact]
    public void Release_hands_a_running_attempt_back_unspent_under_the_new_token_due_now()
    {
        var release = new ReleaseAttempt(TaskId, Token, NextToken);

        AssertBson(
            """{ _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"), status: { $in: ["Running"] }, attemptToken: UUID("11111111-2222-4333-8444-555555555555") }""",
            MongoTaskCommands.TransitionFilter(release));
        AssertBson(
            """
            [{ $set: {
              status: "Queued",
              attemptToken: { $literal: UUID("66666666-7777-4888-9999-aaaaaaaaaaaa") },
              startedAt: "$$REMOVE",
              dueAt: "$$NOW"
            } }]
            """,
            MongoTaskCommands.TransitionUpdate(release));
    }

    [Fact]
    public void A_caller_value_that_looks_like_a_field_path_is_stored_as_a_literal()
    {
        var update = MongoTaskCommands.TransitionUpdate(new FailAttempt(TaskId, Token, "$attempt"));

        Assert.Equal(new BsonDocument("$literal", "$attempt"), update[0]["$set"]["error"]);
    }

    [Fact]
    public void Create_writes_the_whole_task_with_the_server_clock_only_when_the_upsert_inserts_it()
    {
        var task = NewTask("""{"text":"hi"}""", idempotencyKey: "key-1") with { TraceParent = TraceParent, Owner = "client-1" };

        AssertBson(
            $$"""
            [{ $replaceWith: { $cond: {
              if: { $eq: [{ $type: "$createdAt" }, "missing"] },
              then: {
                _id: { $literal: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b") },
                type: { $literal: "echo" },
                payload: { $literal: { text: "hi" } },
                status: { $literal: "Queued" },
                attempt: { $literal: 1 },
                attemptToken: { $literal: UUID("11111111-2222-4333-8444-555555555555") },
                maxAttempts: { $literal: 3 },
                timeoutMs: { $literal: 30000 },
                worker: { $literal: "worker-a" },
                idempotencyKey: { $literal: "key-1" },
                payloadHash: { $literal: "{{task.PayloadHash}}" },
                traceParent: { $literal: "{{TraceParent}}" },
                owner: { $literal: "client-1" },
                createdAt: "$$NOW",
                dueAt: "$$NOW",
                history: { $literal: [] }
              },
              else: "$$ROOT"
            } } }]
            """,
            MongoTaskCommands.Create(task));
    }

    [Fact]
    public void Create_without_an_idempotency_key_leaves_the_field_out_of_the_unique_index()
    {
        var created = MongoTaskCommands.Create(NewTask("{}", idempotencyKey: null));

        var document = created[0]["$replaceWith"]["$cond"]["then"].AsBsonDocument;
        Assert.False(document.Contains("idempotencyKey"));
        Assert.False(document.Contains("traceParent"));
        Assert.Equal("$$NOW", document["createdAt"]);
    }

    [Fact]
    public void The_idempotency_key_is_unique_among_tasks_that_have_one()
    {
        var index = MongoStorageInitializer.TaskIndexes()[0];

        AssertBson("""{ idempotencyKey: 1 }""", index.Keys.Render(RenderArgs()));
        Assert.True(index.Options.Unique);
        AssertBson("""{ idempotencyKey: { $type: "string" } }""", index.Options.PartialFilterExpression.Render(RenderArgs()));
        AssertBson(
            """{ idempotencyKey: { $eq: "key-1", $type: "string" } }""",
            MongoTaskCommands.ByIdempotencyKey("key-1"));
    }

    [Fact]
    public void Every_task_query_has_an_index()
    {
        string[] expected =
        [
            """{ idempotencyKey: 1 }""",
            """{ worker: 1, status: 1, dueAt: 1 }""",
            """{ status: 1, _id: -1 }""",
            """{ type: 1, _id: -1 }""",
            """{ worker: 1, _id: 1 }""",
            """{ claimId: 1 }""",
            """{ owner: 1, _id: -1 }""",
            """{ finishedAt: 1 }""",
        ];

        var keys = MongoStorageInitializer.TaskIndexes().Select(index => Json(index.Keys.Render(RenderArgs())));

        Assert.Equal(expected.Select(key => Json(Parse(key))), keys);
    }

    [Fact]
    public void List_filters_by_status_and_type_and_pages_below_the_binary_id_newest_first()
    {
        var query = new TaskQuery { Status = TaskState.Running, Type = "echo", After = TaskId };

        AssertBson(
            """{ status: "Running", type: "echo", _id: { $lt: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b") } }""",
            MongoTaskCommands.ListFilter(query));
        AssertBson("{}", MongoTaskCommands.ListFilter(new TaskQuery()));
        AssertBson("""{ _id: -1 }""", MongoTaskCommands.NewestFirst);
    }

    [Fact]
    public void Binary_ids_compare_byte_by_byte_in_the_order_of_version_7_guids()
    {
        // The server compares binaries of one length and subtype byte by byte, which is what paging by _id relies on.
        var ids = Enumerable.Range(0, 200).Select(_ => Guid.CreateVersion7(DateTimeOffset.UnixEpoch.AddMilliseconds(Random.Shared.Next()))).ToList();

        var byBytes = ids.OrderBy(id => Convert.ToHexString(MongoCommands.Binary(id).Bytes), StringComparer.Ordinal);

        Assert.Equal(ids.Order(), byBytes);
        Assert.Equal(BsonBinarySubType.UuidStandard, MongoCommands.Binary(TaskId).SubType);
    }

    [Fact]
    public void Active_tasks_of_a_worker_are_its_queued_and_running_ones()
    {
        AssertBson(
            """{ worker: "worker-a", status: { $in: ["Queued", "Running"] } }""",
            MongoTaskCommands.ActiveByWorkerFilter("worker-a"));
    }

    [Fact]
    public void A_claim_takes_the_workers_queued_tasks_that_are_due_by_the_server_clock()
    {
        AssertBson(
            """{ worker: "worker-a", status: "Queued", $expr: { $lte: ["$dueAt", "$$NOW"] } }""",
            MongoTaskCommands.ClaimableFilter("worker-a"));
        AssertBson(
            """{ _id: { $in: [UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b")] }, worker: "worker-a", status: "Queued", $expr: { $lte: ["$dueAt", "$$NOW"] } }""",
            MongoTaskCommands.ClaimFilter([TaskId], "worker-a"));
        AssertBson(
            """[{ $set: { status: "Running", startedAt: "$$NOW", claimId: { $literal: UUID("66666666-7777-4888-9999-aaaaaaaaaaaa") } } }]""",
            MongoTaskCommands.ClaimUpdate(NextToken));
        AssertBson(
            """{ claimId: UUID("66666666-7777-4888-9999-aaaaaaaaaaaa"), status: "Running" }""",
            MongoTaskCommands.ClaimedFilter(NextToken));
    }

    [Fact]
    public void Lease_acquire_queries_the_name_alone_and_decides_in_the_pipeline()
    {
        AssertBson("""{ _id: "gateway-primary" }""", MongoLeaseCommands.AcquireFilter("gateway-primary"));
    }

    [Fact]
    public void Lease_acquire_starts_a_tenure_with_the_next_epoch_only_when_the_lease_is_missing_or_expired()
    {
        const string free = """{ $or: [{ $eq: [{ $type: "$expiresAt" }, "missing"] }, { $lte: ["$expiresAt", "$$NOW"] }] }""";
        AssertBson(
            $$"""
            [{ $set: {
              holder: { $cond: [{{free}}, { $literal: "gateway-a" }, "$holder"] },
              holderUrl: { $cond: [{{free}}, { $literal: "http://a" }, "$holderUrl"] },
              holderApp: { $cond: [{{free}}, { $literal: "taskserver-lease-a" }, "$holderApp"] },
              tenure: { $cond: [{{free}}, { $literal: UUID("66666666-7777-4888-9999-aaaaaaaaaaaa") }, "$tenure"] },
              epoch: { $cond: [{{free}}, { $add: [{ $ifNull: ["$epoch", NumberLong(0)] }, NumberLong(1)] }, "$epoch"] },
              expiresAt: { $cond: [{{free}}, { $add: ["$$NOW", NumberLong(2000)] }, "$expiresAt"] },
              serverNow: { $cond: [{{free}}, "$$NOW", "$serverNow"] }
            } }]
            """,
            MongoLeaseCommands.AcquireUpdate("gateway-a", "http://a", "taskserver-lease-a", NextToken, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void A_takeover_from_a_gone_holder_is_a_compare_and_set_on_the_tenure_found()
    {
        AssertBson(
            """{ _id: "gateway-primary", epoch: NumberLong(7), tenure: UUID("11111111-2222-4333-8444-555555555555") }""",
            MongoLeaseCommands.TakeOverFilter("gateway-primary", 7, Token));
        Assert.Equal("$$NOW", MongoLeaseCommands.TakeOverUpdate("gateway-b", "http://b", "app-b", NextToken, TimeSpan.FromSeconds(2))[0]["$set"]["serverNow"]);
    }

    [Fact]
    public void Renew_requires_the_holder_the_epoch_and_an_unexpired_lease()
    {
        AssertBson(
            """{ _id: "gateway-primary", holder: "gateway-a", epoch: NumberLong(7), $expr: { $gt: ["$expiresAt", "$$NOW"] } }""",
            MongoLeaseCommands.HeldFilter(Fence));
        AssertBson(
            """[{ $set: { expiresAt: { $add: ["$$NOW", NumberLong(500)] }, serverNow: "$$NOW" } }]""",
            MongoLeaseCommands.RenewUpdate(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public void Release_expires_the_lease_at_the_server_clock()
    {
        AssertBson("""[{ $set: { expiresAt: "$$NOW", serverNow: "$$NOW" } }]""", MongoLeaseCommands.ReleaseUpdate());
    }

    [Fact]
    public void A_fenced_write_touches_the_lease_so_a_concurrent_acquisition_conflicts_with_it()
    {
        AssertBson("""[{ $set: { fenceSeq: { $add: [{ $ifNull: ["$fenceSeq", NumberLong(0)] }, NumberLong(1)] } } }]""", MongoLeaseCommands.FenceTouch());
    }

    [Fact]
    public void Reading_a_lease_adds_the_server_clock_at_the_read()
    {
        AssertBson(
            """[{ $match: { _id: "gateway-primary" } }, { $addFields: { serverNow: "$$NOW" } }]""",
            MongoLeaseCommands.Read("gateway-primary"));
    }

    [Fact]
    public void A_lease_document_maps_to_the_model()
    {
        var document = BsonDocument.Parse(
            """
            { _id: "gateway-primary", holder: "gateway-a", holderUrl: "http://a", epoch: NumberLong(3),
              expiresAt: ISODate("2026-01-01T00:00:02Z"), serverNow: ISODate("2026-01-01T00:00:00.500Z"), fencedWriteAt: ISODate("2026-01-01T00:00:00Z") }
            """);

        var lease = MongoLeaseCommands.ToLease(document);

        Assert.Equal(new Fence("gateway-primary", "gateway-a", 3), lease.Fence);
        Assert.Equal("http://a", lease.HolderUrl);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), lease.Remaining);
    }

    [Fact]
    public void Heartbeat_stores_role_url_and_load_with_the_server_clock()
    {
        AssertBson(
            """
            [{ $set: {
              role: { $literal: "Worker" }, url: { $literal: "http://w" },
              queued: { $literal: 3 }, running: { $literal: 2 }, capacity: { $literal: 8 },
              quarantined: { $literal: true }, draining: { $literal: false }, lastSeen: "$$NOW"
            } }]
            """,
            MongoNodeCommands.HeartbeatUpdate(new NodeHeartbeat("node-1", NodeRole.Worker, "http://w", new NodeLoad(3, 2, 8, Quarantined: true))));
    }

    [Fact]
    public void A_draining_worker_says_so_in_its_heartbeat_and_reads_back_draining()
    {
        var update = MongoNodeCommands.HeartbeatUpdate(new NodeHeartbeat("node-1", NodeRole.Worker, "http://w", new NodeLoad(3, 2, 8, Draining: true)));
        var stored = BsonDocument.Parse(
            """
            { _id: "node-1", role: "Worker", url: "http://w", queued: 3, running: 2, capacity: 8, quarantined: false, draining: true,
              lastSeen: ISODate("2026-01-01T00:00:00Z"), ageMs: NumberLong(10) }
            """);

        Assert.Equal(BsonDocument.Parse("""{ $literal: true }"""), update[0]["$set"]["draining"]);
        Assert.Equal(new NodeLoad(3, 2, 8, Draining: true), MongoNodeCommands.ToNode(stored).Load);
    }

    [Fact]
    public void Live_nodes_heartbeated_within_the_timeout_by_the_server_clock()
    {
        AssertBson(
            """
            [
              { $match: { $expr: { $gt: ["$lastSeen", { $subtract: ["$$NOW", NumberLong(5000)] }] } } },
              { $sort: { _id: 1 } },
              { $addFields: { ageMs: { $subtract: ["$$NOW", "$lastSeen"] } } }
            ]
            """,
            MongoNodeCommands.ListLive(TimeSpan.FromSeconds(5)));
        AssertBson(
            """[{ $sort: { _id: 1 } }, { $addFields: { ageMs: { $subtract: ["$$NOW", "$lastSeen"] } } }]""",
            MongoNodeCommands.List());
    }

    [Fact]
    public void Eviction_deletes_only_a_node_whose_heartbeat_is_at_least_the_timeout_old_and_that_owns_no_active_task()
    {
        // In one fenced transaction: the look for one task the node owns (on the tasks' { worker, status, dueAt }
        // index), then the conditional delete.
        AssertBson(
            """{ worker: "node-1", status: { $in: ["Queued", "Running"] } }""",
            MongoTaskCommands.ActiveByWorkerFilter("node-1"));
        AssertBson("""{ _id: 1 }""", MongoTaskCommands.IdOnly);
        AssertBson(
            """{ _id: "node-1", $expr: { $lte: ["$lastSeen", { $subtract: ["$$NOW", NumberLong(5000)] }] } }""",
            MongoNodeCommands.StaleFilter("node-1", TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_claim_first_finds_its_own_node_live_by_the_servers_clock()
    {
        // A find, not an upsert: $expr is allowed in its filter.
        AssertBson(
            """{ _id: "node-1", $expr: { $gt: ["$lastSeen", { $subtract: ["$$NOW", NumberLong(5000)] }] } }""",
            MongoNodeCommands.LiveFilter("node-1", TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Leaving_deletes_the_nodes_own_document_by_id_alone()
    {
        // No staleness condition and no fence: a stopping node removes itself whatever its last heartbeat.
        AssertBson("""{ _id: "node-1" }""", MongoNodeCommands.ById("node-1"));
    }

    [Fact]
    public void A_fenced_write_reads_one_snapshot_from_the_primary_and_commits_to_a_majority_within_its_bound()
    {
        var options = MongoFencedWriter.Options(TimeSpan.FromSeconds(5));

        Assert.Equal(ReadConcern.Snapshot, options.ReadConcern);
        Assert.Equal(ReadPreference.Primary, options.ReadPreference);
        Assert.Equal(WriteConcern.WMajority.W, options.WriteConcern!.W);
        Assert.Equal(TimeSpan.FromSeconds(5), options.WriteConcern.WTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MaxCommitTime);
    }

    [Fact]
    public void A_node_document_maps_to_the_model_with_its_age_by_the_server_clock()
    {
        var document = BsonDocument.Parse(
            """
            { _id: "node-1", role: "Standalone", url: "http://w", queued: 3, running: 2, capacity: 8,
              lastSeen: ISODate("2026-01-01T00:00:00Z"), ageMs: NumberLong(1234) }
            """);

        var node = MongoNodeCommands.ToNode(document);

        Assert.Equal(
            new NodeRecord("node-1", NodeRole.Standalone, "http://w", new NodeLoad(3, 2, 8), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), TimeSpan.FromMilliseconds(1234)),
            node);
        Assert.True(MongoNodeCommands.ToNode(document.Set("quarantined", true)).Load.Quarantined);
        Assert.False(node.Load.Draining);
    }

    [Fact]
    public void A_rescue_keeps_the_tasks_of_live_nodes_and_hands_work_to_live_workers_neither_draining_nor_quarantined_least_loaded_first()
    {
        var scope = RescueScope.Of(LiveNodes);

        Assert.Equal(["gateway-a", "worker-b", "worker-c", "worker-d", "worker-e"], scope.Live);
        Assert.Equal(["gateway-a", "worker-b", "worker-c", "worker-e"], scope.KeepQueued);
        Assert.Equal(["worker-c", "worker-b"], scope.Targets);
    }

    [Fact]
    public void Rescue_candidates_are_queued_tasks_of_owners_not_keeping_their_queue_and_running_tasks_of_owners_not_live()
    {
        AssertBson(
            """
            { $or: [
              { status: "Queued", worker: { $nin: ["gateway-a", "worker-b", "worker-c", "worker-e"] } },
              { status: "Running", worker: { $nin: ["gateway-a", "worker-b", "worker-c", "worker-d", "worker-e"] } }
            ] }
            """,
            MongoTaskCommands.RescueCandidatesFilter(RescueScope.Of(LiveNodes)));
        AssertBson(
            """{ _id: 1, status: 1, worker: 1, attempt: 1, maxAttempts: 1, attemptToken: 1 }""",
            MongoTaskCommands.RescueCandidateOnly);
    }

    [Fact]
    public void With_no_live_worker_to_receive_them_a_rescue_reads_only_running_tasks_whose_lost_attempt_was_the_last()
    {
        var scope = RescueScope.Of([.. LiveNodes.Where(node => node.NodeId is "gateway-a" or "worker-d")]);

        Assert.Empty(scope.Targets);
        AssertBson(
            """{ status: "Running", worker: { $nin: ["gateway-a", "worker-d"] }, $expr: { $gte: ["$attempt", "$maxAttempts"] } }""",
            MongoTaskCommands.RescueCandidatesFilter(scope));
    }

    [Fact]
    public void A_rescue_moves_queued_tasks_gives_a_lost_attempt_its_successor_after_the_backoff_and_fails_a_lost_last_attempt()
    {
        var tokens = new Queue<Guid>([NextToken, Guid.Parse("77777777-7777-4888-9999-aaaaaaaaaaaa"), Guid.Parse("88888888-7777-4888-9999-aaaaaaaaaaaa")]);
        RescueCandidate[] candidates =
        [
            new(TaskId, TaskState.Queued, "worker-x", 1, 3, Token),
            new(SecondId, TaskState.Running, "worker-x", 2, 3, Token),
            new(ThirdId, TaskState.Running, "worker-x", 3, 3, Token),
            new(FourthId, TaskState.Queued, Worker: null, 1, 1, Token),
        ];

        var steps = MongoRescuePlan.Plan(RescueScope.Of(LiveNodes), candidates, Backoff, tokens.Dequeue, () => 0.5);

        Assert.Equal(
            [
                new RescuedTask(TaskId, "worker-x", "worker-c", TaskState.Queued, 1),
                new RescuedTask(SecondId, "worker-x", "worker-b", TaskState.Queued, 3),
                new RescuedTask(ThirdId, "worker-x", "worker-x", TaskState.Failed, 3),
                // The failure took the first target's turn, as on PostgreSQL: the fourth candidate gets the second target.
                new RescuedTask(FourthId, null, "worker-b", TaskState.Queued, 1),
            ],
            steps.Select(step => step.Task));

        // Each write is conditioned on the state, the owner and the token the task was found with.
        AssertBson(
            """{ _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"), status: "Queued", worker: "worker-x", attemptToken: UUID("11111111-2222-4333-8444-555555555555") }""",
            steps[0].Filter);
        AssertBson(
            """[{ $set: { worker: { $literal: "worker-c" }, attemptToken: { $literal: UUID("66666666-7777-4888-9999-aaaaaaaaaaaa") } } }]""",
            steps[0].Update);

        // Attempt 3 follows after Base doubled once, with the jitter's middle (x1.0).
        AssertBson(
            """{ _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6c"), status: "Running", worker: "worker-x", attemptToken: UUID("11111111-2222-4333-8444-555555555555") }""",
            steps[1].Filter);
        AssertBson(
            """
            [{ $set: {
              status: "Queued",
              worker: { $literal: "worker-b" },
              attempt: { $add: ["$attempt", 1] },
              attemptToken: { $literal: UUID("77777777-7777-4888-9999-aaaaaaaaaaaa") },
              error: { $literal: "worker worker-x was lost during attempt 2" },
              startedAt: "$$REMOVE",
              dueAt: { $add: ["$$NOW", NumberLong(2000)] },
              history: { $concatArrays: [{ $ifNull: ["$history", []] }, [{ attempt: "$attempt", worker: "$worker", outcome: { $literal: "lost" }, error: { $literal: "worker worker-x was lost during attempt 2" }, endedAt: "$$NOW" }]] }
            } }]
            """,
            steps[1].Update);

        AssertBson(
            """
            [{ $set: {
              status: "Failed",
              error: { $literal: "worker worker-x was lost during attempt 3" },
              finishedAt: "$$NOW",
              history: { $concatArrays: [{ $ifNull: ["$history", []] }, [{ attempt: "$attempt", worker: "$worker", outcome: { $literal: "failed" }, error: { $literal: "worker worker-x was lost during attempt 3" }, endedAt: "$$NOW" }]] }
            } }]
            """,
            steps[2].Update);

        // A task with no owner is found by a null owner, which matches a missing field.
        AssertBson(
            """{ _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6e"), status: "Queued", worker: null, attemptToken: UUID("11111111-2222-4333-8444-555555555555") }""",
            steps[3].Filter);
        Assert.Empty(tokens);
    }

    [Fact]
    public void A_rescue_with_no_live_worker_writes_only_the_failures_and_mints_nothing()
    {
        var scope = RescueScope.Of([.. LiveNodes.Where(node => node.NodeId is "gateway-a")]);
        RescueCandidate[] candidates =
        [
            new(TaskId, TaskState.Running, "worker-x", 1, 3, Token),
            new(SecondId, TaskState.Running, "worker-x", 3, 3, Token),
            new(ThirdId, TaskState.Queued, "worker-x", 1, 3, Token),
        ];

        var steps = MongoRescuePlan.Plan(
            scope,
            candidates,
            Backoff,
            () => throw new InvalidOperationException("no token is needed"),
            () => throw new InvalidOperationException("no backoff is needed"));

        Assert.Equal([new RescuedTask(SecondId, "worker-x", "worker-x", TaskState.Failed, 3)], steps.Select(step => step.Task));
    }

    [Fact]
    public void A_lost_attempts_backoff_is_the_retry_backoff_of_the_next_attempt()
    {
        var candidate = new RescueCandidate(TaskId, TaskState.Running, "worker-x", 4, 9, Token);

        var step = MongoRescuePlan.Plan(RescueScope.Of(LiveNodes), [candidate], Backoff, () => NextToken, () => 0).Single();

        // Attempt 5: Base doubled three times (8 s), times the low end of the jitter (0.8).
        Assert.Equal(TimeSpan.FromMilliseconds(6400), Backoff.Delay(5, 0));
        Assert.Equal(BsonDocument.Parse("""{ $add: ["$$NOW", NumberLong(6400)] }"""), step.Update[0]["$set"]["dueAt"]);
        Assert.Equal("worker worker-x was lost during attempt 4", MongoRescuePlan.LostError(candidate));
    }

    [Fact]
    public void A_rescue_candidate_maps_from_its_projection_and_a_missing_owner_is_none()
    {
        var document = BsonDocument.Parse(
            """{ _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"), status: "Running", attempt: 2, maxAttempts: 3, attemptToken: UUID("11111111-2222-4333-8444-555555555555") }""");

        var unowned = RescueCandidate.From(document);

        Assert.Equal(new RescueCandidate(TaskId, TaskState.Running, null, 2, 3, Token), unowned);
        Assert.Equal("worker (none) was lost during attempt 2", MongoRescuePlan.LostError(unowned));
        Assert.Equal("worker-a", RescueCandidate.From(document.Set("worker", "worker-a")).Worker);
    }

    [Fact]
    public void No_write_carries_a_client_side_date()
    {
        BsonDocument[][] updates =
        [
            MongoTaskCommands.Create(NewTask("{}", "key")),
            .. TransitionsOfEveryKind().Select(MongoTaskCommands.TransitionUpdate),
            MongoLeaseCommands.AcquireUpdate("a", "http://a", "app", Token, TimeSpan.FromSeconds(2)),
            MongoLeaseCommands.TakeOverUpdate("a", "http://a", "app", Token, TimeSpan.FromSeconds(2)),
            MongoTaskCommands.ClaimUpdate(Token),
            MongoTaskCommands.RescueQueued("w", Token),
            MongoTaskCommands.RescueLostAttempt("w", Token, TimeSpan.FromSeconds(1), "e"),
            MongoTaskCommands.FailLostAttempt("e"),
            MongoLeaseCommands.RenewUpdate(TimeSpan.FromSeconds(2)),
            MongoLeaseCommands.ReleaseUpdate(),
            MongoLeaseCommands.FenceTouch(),
            MongoNodeCommands.HeartbeatUpdate(new NodeHeartbeat("n", NodeRole.Worker, "http://w", new NodeLoad(0, 0, 1, Draining: true))),
        ];

        Assert.All(updates, update => Assert.DoesNotContain(Flatten(new BsonArray(update)), value => value.IsBsonDateTime));
    }

    [Fact]
    public void The_pipeline_reaches_the_driver_unchanged()
    {
        var stages = MongoTaskCommands.TransitionUpdate(new CancelTask(TaskId));

        var rendered = MongoCommands.Update(stages).Render(RenderArgs());

        Assert.Equal(Json(new BsonArray(stages)), Json(rendered));
    }

    [Theory]
    [InlineData("""{"text":"hi","n":1,"nested":{"list":[1,"two",null,true,2.5]}}""")]
    [InlineData("""[1,{"a":"b"},[],{}]""")]
    [InlineData("\"just a string\"")]
    [InlineData("42")]
    [InlineData("-3.25")]
    [InlineData("9007199254740993")]
    [InlineData("3.14159265358979323846264338")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("""{"$date":"not a date","$numberLong":"5","a.b":"dots","price":"$5"}""")]
    [InlineData("""{"text":"héllo <b> ✓ \"quoted\" \\ \n"}""")]
    public void Json_payloads_round_trip_through_bson(string json)
    {
        var back = MongoJson.ToJson(MongoJson.ToBson(json));

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(back)), $"{json} came back as {back}");
    }

    [Fact]
    public void Json_numbers_keep_their_exact_value_and_plain_json_comes_back_as_written()
    {
        Assert.Equal(new BsonInt32(42), MongoJson.ToBson("42"));
        Assert.Equal(new BsonInt64(9007199254740993), MongoJson.ToBson("9007199254740993"));
        Assert.Equal(new BsonDouble(2.5), MongoJson.ToBson("2.5"));
        Assert.IsType<BsonDecimal128>(MongoJson.ToBson("3.14159265358979323846264338"));
        Assert.Equal("""{"a":[1,"x",null,false,2.5],"é":"✓"}""", MongoJson.ToJson(MongoJson.ToBson("""{ "a": [1, "x", null, false, 2.5], "é": "✓" }""")));
        Assert.Equal("3.14159265358979323846264338", MongoJson.ToJson(MongoJson.ToBson("3.14159265358979323846264338")));
    }

    [Fact]
    public void A_task_document_maps_to_the_model_and_absent_fields_are_null()
    {
        var document = BsonDocument.Parse(
            """
            { _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"), type: "echo", payload: { x: 1 }, status: "Succeeded",
              attempt: 2, attemptToken: UUID("11111111-2222-4333-8444-555555555555"), maxAttempts: 3, worker: "worker-a",
              payloadHash: "abc", createdAt: ISODate("2026-01-01T00:00:00.123Z"), finishedAt: ISODate("2026-01-01T00:00:01Z"),
              result: null, jobId: "job-from-an-older-build" }
            """);

        var task = MongoTaskDocuments.ToTask(document);

        Assert.Equal(
            new TaskRecord
            {
                Id = TaskId,
                Type = "echo",
                Payload = """{"x":1}""",
                Status = TaskState.Succeeded,
                Attempt = 2,
                AttemptToken = Token,
                MaxAttempts = 3,
                Worker = "worker-a",
                PayloadHash = "abc",
                CreatedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, 123, TimeSpan.Zero),
                FinishedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 1, TimeSpan.Zero),
                // A handler that returned JSON null has a result, and it is "null".
                Result = "null",
                // Stored before timeouts were recorded: PostgreSQL's migration default.
                Timeout = TimeSpan.FromMinutes(5),
            },
            task);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), MongoTaskDocuments.ToTask(document.Set("timeoutMs", 1500)).Timeout);
    }

    [Fact]
    public void Writes_wait_for_a_majority_and_reads_see_majority_data_unless_the_connection_string_says_otherwise()
    {
        var defaults = MongoStorageServiceCollectionExtensions.CreateClientSettings("mongodb://localhost:27017/?replicaSet=rs0", loggerFactory: null);
        var chosen = MongoStorageServiceCollectionExtensions.CreateClientSettings("mongodb://localhost:27017/?w=1&readConcernLevel=local", loggerFactory: null);

        Assert.Equal(WriteConcern.WMajority.W, defaults.WriteConcern.W);
        Assert.Equal(ReadConcern.Majority, defaults.ReadConcern);
        Assert.Equal(new WriteConcern.WCount(1), chosen.WriteConcern.W);
        Assert.Equal(ReadConcern.Local, chosen.ReadConcern);
    }

    [Fact]
    public void A_duplicate_key_refusal_of_find_and_modify_is_recognised()
    {
        var connection = new ConnectionId(new ServerId(new ClusterId(), new DnsEndPoint("localhost", 27017)));

        Assert.True(MongoCommands.IsDuplicateKey(new MongoCommandException(connection, "E11000", new BsonDocument(), new BsonDocument("code", 11000))));
        Assert.False(MongoCommands.IsDuplicateKey(new MongoCommandException(connection, "WriteConflict", new BsonDocument(), new BsonDocument("code", 112))));
    }

    private static IEnumerable<TaskTransition> TransitionsOfEveryKind() =>
    [
        new StartAttempt(TaskId, Token, "w"),
        new CompleteAttempt(TaskId, Token, "1"),
        new FailAttempt(TaskId, Token, "e"),
        new RetryAttempt(TaskId, Token, "e", NextToken),
        new CancelTask(TaskId),
        new ReleaseAttempt(TaskId, Token, NextToken),
    ];

    private const string TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private static readonly Guid SecondId = Guid.Parse("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6c");
    private static readonly Guid ThirdId = Guid.Parse("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6d");
    private static readonly Guid FourthId = Guid.Parse("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6e");
    private static readonly RetryBackoff Backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));

    /// <summary>The live nodes as the rescue reads them (sorted by id): a gateway, two workers of different load, a draining one, a quarantined one.</summary>
    private static readonly NodeRecord[] LiveNodes =
    [
        Node("gateway-a", NodeRole.Gateway, new NodeLoad(0, 0, 0)),
        Node("worker-b", NodeRole.Worker, new NodeLoad(5, 1, 8)),
        Node("worker-c", NodeRole.Standalone, new NodeLoad(1, 1, 8)),
        Node("worker-d", NodeRole.Worker, new NodeLoad(0, 0, 8, Draining: true)),
        Node("worker-e", NodeRole.Worker, new NodeLoad(0, 0, 8, Quarantined: true)),
    ];

    private static NodeRecord Node(string id, NodeRole role, NodeLoad load) =>
        new(id, role, $"http://{id}", load, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), TimeSpan.FromMilliseconds(100));

    private static NewTask NewTask(string payload, string? idempotencyKey) => new()
    {
        Id = TaskId,
        Type = "echo",
        Payload = payload,
        MaxAttempts = 3,
        Worker = "worker-a",
        AttemptToken = Token,
        IdempotencyKey = idempotencyKey,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static void AssertBson(string expected, BsonDocument actual) => Assert.Equal(Json(Parse(expected)), Json(actual));

    private static void AssertBson(string expected, BsonDocument[] actual) => Assert.Equal(Json(Parse(expected)), Json(new BsonArray(actual)));

    /// <summary>Parses any shell-syntax value, not only a document.</summary>
    private static BsonValue Parse(string json) => BsonDocument.Parse($"{{ \"v\": {json} }}")["v"];

    private static string Json(BsonValue value) => value.ToJson(new JsonWriterSettings { OutputMode = JsonOutputMode.CanonicalExtendedJson });

    private static RenderArgs<BsonDocument> RenderArgs() => new(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry);

    private static IEnumerable<BsonValue> Flatten(BsonValue value) => value switch
    {
        BsonDocument document => document.Values.SelectMany(Flatten),
        BsonArray array => array.SelectMany(Flatten),
        _ => [value],
    };
}
