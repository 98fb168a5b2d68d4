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
    public void Requeue_moves_the_task_to_the_new_worker_and_token_and_counts_only_a_running_attempt()
    {
        var requeue = new RequeueTask(TaskId, Token, "worker-b", NextToken, Fence);

        AssertBson(
            """{ _id: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"), status: { $in: ["Queued", "Running"] }, attemptToken: UUID("11111111-2222-4333-8444-555555555555") }""",
            MongoTaskCommands.TransitionFilter(requeue));
        AssertBson(
            """
            [{ $set: {
              status: "Queued",
              worker: { $literal: "worker-b" },
              attempt: { $add: ["$attempt", { $cond: [{ $eq: ["$status", "Running"] }, 1, 0] }] },
              attemptToken: { $literal: UUID("66666666-7777-4888-9999-aaaaaaaaaaaa") },
              startedAt: "$$REMOVE",
              jobId: "$$REMOVE",
              dueAt: "$$NOW",
              history: { $cond: [{ $eq: ["$status", "Running"] }, { $concatArrays: [{ $ifNull: ["$history", []] }, [{ attempt: "$attempt", worker: "$worker", outcome: { $literal: "requeued" }, error: { $literal: "requeued by the primary" }, endedAt: "$$NOW" }]] }, { $ifNull: ["$history", []] }] }
            } }]
            """,
            MongoTaskCommands.TransitionUpdate(requeue));
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
    public void Running_tasks_are_walked_in_id_order_from_a_cursor()
    {
        AssertBson(
            """{ status: "Running", _id: { $gt: UUID("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b") } }""",
            MongoTaskCommands.RunningFilter(Guid.Parse("0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b")));
        AssertBson("""{ status: "Running" }""", MongoTaskCommands.RunningFilter(after: null));
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
            """[{ $set: { status: "Running", startedAt: "$$NOW", jobId: { $literal: "job-1" }, claimId: { $literal: UUID("66666666-7777-4888-9999-aaaaaaaaaaaa") } } }]""",
            MongoTaskCommands.ClaimUpdate("job-1", NextToken));
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
              quarantined: { $literal: true }, lastSeen: "$$NOW"
            } }]
            """,
            MongoNodeCommands.HeartbeatUpdate(new NodeHeartbeat("node-1", NodeRole.Worker, "http://w", new NodeLoad(3, 2, 8, Quarantined: true))));
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
    public void Eviction_deletes_only_a_node_whose_heartbeat_is_at_least_the_timeout_old()
    {
        AssertBson(
            """{ _id: "node-1", $expr: { $lte: ["$lastSeen", { $subtract: ["$$NOW", NumberLong(5000)] }] } }""",
            MongoNodeCommands.StaleFilter("node-1", TimeSpan.FromSeconds(5)));
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
            MongoTaskCommands.ClaimUpdate("job", Token),
            MongoLeaseCommands.RenewUpdate(TimeSpan.FromSeconds(2)),
            MongoLeaseCommands.ReleaseUpdate(),
            MongoLeaseCommands.FenceTouch(),
            MongoNodeCommands.HeartbeatUpdate(new NodeHeartbeat("n", NodeRole.Worker, "http://w", new NodeLoad(0, 0, 1))),
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
              result: null }
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
            },
            task);
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
        new RequeueTask(TaskId, Token, "w", NextToken, Fence),
    ];

    private const string TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private static NewTask NewTask(string payload, string? idempotencyKey) => new()
    {
        Id = TaskId,
        Type = "echo",
        Payload = payload,
        MaxAttempts = 3,
        Worker = "worker-a",
        AttemptToken = Token,
        IdempotencyKey = idempotencyKey,
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
