using System.Text.Json.Nodes;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Tests.Contract;

/// <summary>What every <see cref="ITaskStore"/> provider must do. One subclass per provider supplies the database.</summary>
public abstract class TaskStoreContract(StorageFixture fixture)
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private ITaskStore Store => fixture.Tasks;

    [Fact]
    public async Task Create_stores_a_queued_first_attempt_owned_by_the_worker()
    {
        var task = NewTask("echo", """{"text":"hi"}""");

        var created = await Store.CreateAsync(task, Ct);

        Assert.Equal(CreateOutcome.Created, created.Outcome);
        var stored = await Store.GetAsync(task.Id, Ct);
        Assert.NotNull(stored);
        Assert.Equal(TaskState.Queued, stored.Status);
        Assert.Equal(1, stored.Attempt);
        Assert.Equal(task.AttemptToken, stored.AttemptToken);
        Assert.Equal("worker-a", stored.Worker);
        Assert.Equal(3, stored.MaxAttempts);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(task.Payload), JsonNode.Parse(stored.Payload)));
        Assert.Null(stored.StartedAt);
        Assert.Equal(TimeSpan.FromSeconds(30), stored.Timeout);
        Assert.Equal(created.Task, stored);
    }

    [Fact]
    public async Task Get_of_an_unknown_id_returns_null()
    {
        Assert.Null(await Store.GetAsync(Guid.CreateVersion7(), Ct));
    }

    [Fact]
    public async Task Start_then_complete_runs_a_task_to_success_with_its_result()
    {
        var task = await CreateAsync();

        var started = await Store.ApplyAsync(new StartAttempt(task.Id, task.AttemptToken, "worker-b"), Ct);
        var completed = await Store.ApplyAsync(new CompleteAttempt(task.Id, task.AttemptToken, """{"answer":[1,2,3]}"""), Ct);

        Assert.Equal(TransitionOutcome.Applied, started.Outcome);
        Assert.Equal(TaskState.Running, started.Task!.Status);
        Assert.Equal("worker-b", started.Task.Worker);
        Assert.NotNull(started.Task.StartedAt);
        Assert.Equal(TransitionOutcome.Applied, completed.Outcome);
        Assert.Equal(TaskState.Succeeded, completed.Task!.Status);
        Assert.NotNull(completed.Task.FinishedAt);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"answer":[1,2,3]}"""), JsonNode.Parse(completed.Task.Result!)));
        Assert.Equal(completed.Task, await Store.GetAsync(task.Id, Ct));
    }

    [Fact]
    public async Task A_write_with_a_stale_attempt_token_is_a_conflict_and_changes_nothing()
    {
        var task = await CreateAsync();

        var result = await Store.ApplyAsync(new StartAttempt(task.Id, Guid.NewGuid(), "worker-a"), Ct);

        Assert.Equal(TransitionOutcome.Conflict, result.Outcome);
        Assert.Equal(TaskState.Queued, result.Task!.Status);
        Assert.Equal(TaskState.Queued, (await Store.GetAsync(task.Id, Ct))!.Status);
    }

    [Fact]
    public async Task Completing_a_task_that_never_started_is_a_conflict()
    {
        var task = await CreateAsync();

        var result = await Store.ApplyAsync(new CompleteAttempt(task.Id, task.AttemptToken, "1"), Ct);

        Assert.Equal(TransitionOutcome.Conflict, result.Outcome);
        Assert.Equal(TaskState.Queued, (await Store.GetAsync(task.Id, Ct))!.Status);
    }

    [Fact]
    public async Task A_transition_of_an_unknown_task_is_not_found()
    {
        var result = await Store.ApplyAsync(new CancelTask(Guid.CreateVersion7()), Ct);

        Assert.Equal(TransitionOutcome.NotFound, result.Outcome);
        Assert.Null(result.Task);
    }

    [Fact]
    public async Task Retry_opens_the_next_attempt_with_a_new_token_and_rejects_the_old_one()
    {
        var worker = Unique("worker");
        var task = await CreateAsync(worker: worker);
        Assert.Equal([task.Id], (await ClaimAsync(worker, 10)).Select(t => t.Id));
        var next = Guid.NewGuid();

        var retried = await Store.ApplyAsync(new RetryAttempt(task.Id, task.AttemptToken, "boom", next), Ct);
        var lateCompletion = await Store.ApplyAsync(new CompleteAttempt(task.Id, task.AttemptToken, "1"), Ct);
        var lateStart = await Store.ApplyAsync(new StartAttempt(task.Id, task.AttemptToken, "worker-a"), Ct);

        Assert.Equal(TransitionOutcome.Applied, retried.Outcome);
        Assert.Equal(TaskState.Queued, retried.Task!.Status);
        Assert.Equal(2, retried.Task.Attempt);
        Assert.Equal(next, retried.Task.AttemptToken);
        Assert.Equal("boom", retried.Task.Error);
        Assert.Equal([new AttemptRecord(1, worker, AttemptRecord.Retried, "boom", retried.Task.History[0].EndedAt)], retried.Task.History);
        Assert.Equal(TransitionOutcome.Conflict, lateCompletion.Outcome);
        Assert.Equal(TransitionOutcome.Conflict, lateStart.Outcome);
        Assert.Equal(TransitionOutcome.Applied, (await Store.ApplyAsync(new StartAttempt(task.Id, next, "worker-a"), Ct)).Outcome);
    }

    [Fact]
    public async Task Retry_is_refused_once_the_last_attempt_has_run()
    {
        var task = await CreateAsync(maxAttempts: 2);
        var token = task.AttemptToken;
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            await Store.ApplyAsync(new StartAttempt(task.Id, token, "worker-a"), Ct);
            var next = Guid.NewGuid();
            var retry = await Store.ApplyAsync(new RetryAttempt(task.Id, token, $"failure {attempt}", next), Ct);
            Assert.Equal(attempt < 2 ? TransitionOutcome.Applied : TransitionOutcome.Conflict, retry.Outcome);
            token = next;
        }

        var stored = (await Store.GetAsync(task.Id, Ct))!;
        Assert.Equal(TaskState.Running, stored.Status);
        Assert.Equal(2, stored.Attempt);
        var failed = await Store.ApplyAsync(new FailAttempt(task.Id, stored.AttemptToken, "failure 2"), Ct);
        Assert.Equal(TaskState.Failed, failed.Task!.Status);
        Assert.Equal("failure 2", failed.Task.Error);
        Assert.NotNull(failed.Task.FinishedAt);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cancel_stops_a_queued_or_running_task(bool started)
    {
        var task = await CreateAsync();
        if (started)
        {
            await Store.ApplyAsync(new StartAttempt(task.Id, task.AttemptToken, "worker-a"), Ct);
        }

        var cancelled = await Store.ApplyAsync(new CancelTask(task.Id), Ct);
        var lateCompletion = await Store.ApplyAsync(new CompleteAttempt(task.Id, task.AttemptToken, "1"), Ct);

        Assert.Equal(TransitionOutcome.Applied, cancelled.Outcome);
        Assert.Equal(TaskState.Cancelled, cancelled.Task!.Status);
        Assert.NotNull(cancelled.Task.FinishedAt);
        Assert.Equal(TransitionOutcome.Conflict, lateCompletion.Outcome);
    }

    [Fact]
    public async Task A_cancel_that_names_a_superseded_attempt_changes_nothing()
    {
        var task = await CreateAsync();
        await Store.ApplyAsync(new StartAttempt(task.Id, task.AttemptToken, "worker-a"), Ct);
        var next = Guid.NewGuid();
        await Store.ApplyAsync(new RetryAttempt(task.Id, task.AttemptToken, "boom", next), Ct);

        var stale = await Store.ApplyAsync(new CancelTask(task.Id, task.AttemptToken), Ct);
        var current = await Store.ApplyAsync(new CancelTask(task.Id, next), Ct);

        Assert.Equal(TransitionOutcome.Conflict, stale.Outcome);
        Assert.Equal(TransitionOutcome.Applied, current.Outcome);
    }

    [Fact]
    public async Task A_finished_task_accepts_no_further_transition()
    {
        var task = await CreateAsync();
        await Store.ApplyAsync(new StartAttempt(task.Id, task.AttemptToken, "worker-a"), Ct);
        await Store.ApplyAsync(new FailAttempt(task.Id, task.AttemptToken, "final"), Ct);

        TaskTransition[] attempts =
        [
            new CancelTask(task.Id),
            new StartAttempt(task.Id, task.AttemptToken, "worker-a"),
            new CompleteAttempt(task.Id, task.AttemptToken, "1"),
            new RetryAttempt(task.Id, task.AttemptToken, "again", Guid.NewGuid()),
        ];
        foreach (var transition in attempts)
        {
            Assert.Equal(TransitionOutcome.Conflict, (await Store.ApplyAsync(transition, Ct)).Outcome);
        }

        Assert.Equal(TaskState.Failed, (await Store.GetAsync(task.Id, Ct))!.Status);
    }

    [Fact]
    public async Task Of_fifty_parallel_starts_of_one_task_exactly_one_is_applied()
    {
        var task = await CreateAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(() => Store.ApplyAsync(new StartAttempt(task.Id, task.AttemptToken, $"worker-{i}"), Ct))));

        var winners = results.Where(r => r.Applied).ToList();
        Assert.Single(winners);
        Assert.Equal(49, results.Count(r => r.Outcome == TransitionOutcome.Conflict));
        Assert.Equal(winners[0].Task!.Worker, (await Store.GetAsync(task.Id, Ct))!.Worker);
    }

    [Fact]
    public async Task Of_parallel_completions_and_cancellations_exactly_one_final_state_is_applied()
    {
        var task = await CreateAsync();
        await Store.ApplyAsync(new StartAttempt(task.Id, task.AttemptToken, "worker-a"), Ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => Store.ApplyAsync(
            (i % 3) switch
            {
                0 => new CompleteAttempt(task.Id, task.AttemptToken, i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                1 => new FailAttempt(task.Id, task.AttemptToken, "failed"),
                _ => (TaskTransition)new CancelTask(task.Id),
            },
            Ct))));

        var winner = Assert.Single(results, r => r.Applied);
        Assert.Equal(winner.Task, await Store.GetAsync(task.Id, Ct));
    }

    [Fact]
    public async Task The_same_idempotency_key_with_the_same_request_returns_the_stored_task()
    {
        var key = Unique("key");
        var first = NewTask("echo", """{"n":1}""", key);
        var again = first with { Id = Guid.CreateVersion7(), AttemptToken = Guid.NewGuid(), Worker = "worker-z" };

        var created = await Store.CreateAsync(first, Ct);
        var repeated = await Store.CreateAsync(again, Ct);

        Assert.Equal(CreateOutcome.Created, created.Outcome);
        Assert.Equal(CreateOutcome.Existing, repeated.Outcome);
        Assert.Equal(first.Id, repeated.Task.Id);
        Assert.Null(await Store.GetAsync(again.Id, Ct));
    }

    [Fact]
    public async Task The_same_idempotency_key_with_another_request_is_a_conflict_and_stores_nothing()
    {
        var key = Unique("key");
        var first = NewTask("echo", """{"n":1}""", key);
        var other = NewTask("echo", """{"n":2}""", key);

        await Store.CreateAsync(first, Ct);
        var conflict = await Store.CreateAsync(other, Ct);

        Assert.Equal(CreateOutcome.IdempotencyConflict, conflict.Outcome);
        Assert.Equal(first.Id, conflict.Task.Id);
        Assert.Null(await Store.GetAsync(other.Id, Ct));
    }

    [Fact]
    public async Task Parallel_submissions_with_one_idempotency_key_store_exactly_one_task()
    {
        var key = Unique("key");
        var type = Unique("type");
        var submissions = Enumerable.Range(0, 20).Select(_ => NewTask(type, """{"same":true}""", key)).ToList();

        var results = await Task.WhenAll(submissions.Select(t => Task.Run(() => Store.CreateAsync(t, Ct))));

        var created = Assert.Single(results, r => r.Outcome == CreateOutcome.Created);
        Assert.All(results, r => Assert.Equal(created.Task.Id, r.Task.Id));
        Assert.Single(await Store.ListAsync(new TaskQuery { Type = type, Limit = 100 }, Ct));
    }

    [Fact]
    public async Task List_returns_newest_first_filtered_by_status_and_type_and_paged()
    {
        var type = Unique("type");
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await CreateAsync(type: type)).Id);
        }

        var running = (await Store.GetAsync(ids[1], Ct))!;
        await Store.ApplyAsync(new StartAttempt(running.Id, running.AttemptToken, "worker-a"), Ct);

        var firstPage = await Store.ListAsync(new TaskQuery { Type = type, Limit = 2 }, Ct);
        var secondPage = await Store.ListAsync(new TaskQuery { Type = type, Limit = 2, After = firstPage[^1].Id }, Ct);
        var queued = await Store.ListAsync(new TaskQuery { Type = type, Status = TaskState.Queued, Limit = 10 }, Ct);

        // Version 7 ids order by creation time to the millisecond; within one the order is the ids' own.
        var newestFirst = ids.OrderDescending().ToList();
        Assert.Equal(newestFirst[..2], firstPage.Select(t => t.Id));
        Assert.Equal(newestFirst[2..4], secondPage.Select(t => t.Id));
        Assert.Equal(newestFirst.Where(id => id != running.Id), queued.Select(t => t.Id));
    }

    [Fact]
    public async Task Running_tasks_are_listed_by_owning_worker_past_any_backlog_of_queued_ones()
    {
        var worker = Unique("worker");

        // Queued tasks older than the running ones, more than the page holds: they must not hide them.
        for (var i = 0; i < 5; i++)
        {
            await CreateAsync(worker: worker);
        }

        var running = await CreateAsync(worker: worker);
        var done = await CreateAsync(worker: worker);
        var late = await CreateAsync(worker: worker);
        foreach (var task in new[] { running, done, late })
        {
            await Store.ApplyAsync(new StartAttempt(task.Id, task.AttemptToken, worker), Ct);
        }

        await Store.ApplyAsync(new CompleteAttempt(done.Id, done.AttemptToken, "1"), Ct);
        await CreateAsync(worker: Unique("other"));

        var listed = await Store.ListRunningByWorkerAsync(worker, 2, Ct);

        Assert.Equal(new[] { running.Id, late.Id }.Order(), listed.Select(t => t.Id).Order());
    }

    [Fact]
    public async Task A_workers_load_counts_its_queued_and_running_tasks_only()
    {
        var worker = Unique("worker");
        await CreateAsync(worker: worker);
        await CreateAsync(worker: worker);
        var running = await CreateAsync(worker: worker);
        var done = await CreateAsync(worker: worker);
        await CreateAsync(worker: Unique("other"));
        await Store.ApplyAsync(new StartAttempt(running.Id, running.AttemptToken, worker), Ct);
        await Store.ApplyAsync(new StartAttempt(done.Id, done.AttemptToken, worker), Ct);
        await Store.ApplyAsync(new CompleteAttempt(done.Id, done.AttemptToken, "1"), Ct);

        Assert.Equal(new ActiveCounts(2, 1, Due: 2), await Store.CountActiveByWorkerAsync(worker, Ct));
        Assert.Equal(new ActiveCounts(0, 0), await Store.CountActiveByWorkerAsync(Unique("idle"), Ct));
    }

    [Fact]
    public async Task The_submitting_trace_is_stored_with_the_task_and_read_back()
    {
        const string traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        var traced = await Store.CreateAsync(NewTask("echo", """{"x":1}""") with { TraceParent = traceParent }, Ct);
        var untraced = await CreateAsync();

        Assert.Equal(traceParent, traced.Task.TraceParent);
        Assert.Equal(traceParent, (await Store.GetAsync(traced.Task.Id, Ct))!.TraceParent);
        Assert.Null((await Store.GetAsync(untraced.Id, Ct))!.TraceParent);
    }

    [Fact]
    public async Task A_task_keeps_its_owner_and_a_listing_by_owner_sees_only_that_clients_tasks()
    {
        var type = "owned-" + Guid.NewGuid().ToString("N")[..8];
        var mine = await Store.CreateAsync(NewTask(type, """{"x":1}""") with { Owner = "client-a" }, Ct);
        var theirs = await Store.CreateAsync(NewTask(type, """{"x":2}""") with { Owner = "client-b" }, Ct);

        var listed = await Store.ListAsync(new TaskQuery { Type = type, Owner = "client-a", Limit = 10 }, Ct);
        var everyone = await Store.ListAsync(new TaskQuery { Type = type, Limit = 10 }, Ct);

        Assert.Equal("client-a", (await Store.GetAsync(mine.Task.Id, Ct))!.Owner);
        Assert.Equal([mine.Task.Id], listed.Select(t => t.Id));
        Assert.Equal(new[] { mine.Task.Id, theirs.Task.Id }.Order(), everyone.Select(t => t.Id).Order());
    }

    [Fact]
    public async Task A_claim_starts_the_workers_due_queued_tasks_oldest_first_under_their_tokens()
    {
        var worker = Unique("worker");
        var created = new List<TaskRecord>();
        for (var i = 0; i < 3; i++)
        {
            created.Add(await CreateAsync(worker: worker));
        }

        // Oldest first is id order: version 7 ids made within one millisecond are not ordered among themselves.
        var byAge = created.OrderBy(t => t.Id).ToList();
        var others = await CreateAsync(worker: Unique("other"));

        var claimed = await ClaimAsync(worker, 2);
        var rest = await ClaimAsync(worker, 10);

        Assert.Equal([byAge[0].Id, byAge[1].Id], claimed.Select(t => t.Id));
        Assert.All(claimed, t =>
        {
            Assert.Equal(TaskState.Running, t.Status);
            Assert.NotNull(t.StartedAt);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"x":1}"""), JsonNode.Parse(t.Payload)));
        });
        Assert.Equal(byAge[0].AttemptToken, claimed[0].AttemptToken);
        Assert.Equal([byAge[2].Id], rest.Select(t => t.Id));
        Assert.Empty(await ClaimAsync(worker, 10));
        Assert.Equal(TaskState.Queued, (await Store.GetAsync(others.Id, Ct))!.Status);
    }

    [Fact]
    public async Task A_claim_by_a_worker_whose_heartbeat_aged_out_takes_nothing_until_it_beats_again()
    {
        var worker = Unique("worker");
        var task = await CreateAsync(worker: worker);
        await BeatAsync(worker);
        await Task.Delay(TimeSpan.FromMilliseconds(300), Ct);

        var whileSilent = await Store.ClaimAsync(worker, 10, TimeSpan.FromMilliseconds(200), Ct);
        var stored = (await Store.GetAsync(task.Id, Ct))!;
        await BeatAsync(worker);
        var afterBeat = await Store.ClaimAsync(worker, 10, TimeSpan.FromMinutes(1), Ct);

        Assert.Empty(whileSilent);
        Assert.Equal((TaskState.Queued, (DateTimeOffset?)null), (stored.Status, stored.StartedAt));
        Assert.Equal([task.Id], afterBeat.Select(t => t.Id));
    }

    [Fact]
    public async Task A_claim_by_a_worker_that_is_not_registered_takes_nothing()
    {
        var worker = Unique("unregistered");
        var task = await CreateAsync(worker: worker);

        var claimed = await Store.ClaimAsync(worker, 10, TimeSpan.FromMinutes(1), Ct);

        Assert.Empty(claimed);
        Assert.Equal(TaskState.Queued, (await Store.GetAsync(task.Id, Ct))!.Status);
    }

    [Fact]
    public async Task Parallel_claims_never_take_the_same_task_twice()
    {
        var worker = Unique("worker");
        var created = new List<Guid>();
        for (var i = 0; i < 60; i++)
        {
            created.Add((await CreateAsync(worker: worker)).Id);
        }

        await BeatAsync(worker);
        var claims = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            Task.Run(() => Store.ClaimAsync(worker, 7, LiveFor, Ct))));
        var claimed = claims.SelectMany(c => c).Select(t => t.Id).ToList();
        claimed.AddRange((await ClaimAsync(worker, 100)).Select(t => t.Id));

        Assert.Equal(claimed.Count, claimed.Distinct().Count());
        Assert.Equal(created.Order(), claimed.Order());
    }

    [Fact]
    public async Task A_retry_waits_out_its_backoff_before_it_can_be_claimed_again()
    {
        var worker = Unique("worker");
        var task = await CreateAsync(worker: worker);
        var claimed = Assert.Single(await ClaimAsync(worker, 10));

        var retried = await Store.ApplyAsync(new RetryAttempt(task.Id, claimed.AttemptToken, "boom", Guid.NewGuid(), TimeSpan.FromHours(1)), Ct);

        Assert.True(retried.Task!.DueAt > retried.Task.CreatedAt.AddMinutes(59));
        Assert.Empty(await ClaimAsync(worker, 10));
        Assert.Equal(new ActiveCounts(1, 0, Due: 0), await Store.CountActiveByWorkerAsync(worker, Ct));
    }

    [Fact]
    public async Task Outcomes_are_written_as_a_set_and_a_superseded_attempt_misses_alone()
    {
        var worker = Unique("worker");
        var completed = await CreateAsync(worker: worker);
        var failed = await CreateAsync(worker: worker, maxAttempts: 1);
        var retried = await CreateAsync(worker: worker, maxAttempts: 2);
        var cancelled = await CreateAsync(worker: worker);
        Assert.Equal(4, (await ClaimAsync(worker, 10)).Count);
        await Store.ApplyAsync(new CancelTask(cancelled.Id), Ct);
        var nextToken = Guid.NewGuid();

        var outcomes = await Store.ApplyOutcomesAsync(
            [
                new CompleteAttempt(completed.Id, completed.AttemptToken, """{"ok":true}"""),
                new FailAttempt(failed.Id, failed.AttemptToken, "for good"),
                new RetryAttempt(retried.Id, retried.AttemptToken, "again", nextToken, TimeSpan.Zero),
                new CompleteAttempt(cancelled.Id, cancelled.AttemptToken, "1"),
            ],
            Ct);

        Assert.Equal([TransitionOutcome.Applied, TransitionOutcome.Applied, TransitionOutcome.Applied, TransitionOutcome.Conflict], outcomes);
        var done = (await Store.GetAsync(completed.Id, Ct))!;
        Assert.Equal(TaskState.Succeeded, done.Status);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"ok":true}"""), JsonNode.Parse(done.Result!)));
        Assert.NotNull(done.FinishedAt);
        Assert.Empty(done.History);
        var failedNow = (await Store.GetAsync(failed.Id, Ct))!;
        Assert.Equal((TaskState.Failed, "for good"), (failedNow.Status, failedNow.Error));
        Assert.Equal(AttemptRecord.Failed, Assert.Single(failedNow.History).Outcome);
        var retriedNow = (await Store.GetAsync(retried.Id, Ct))!;
        Assert.Equal((TaskState.Queued, 2, nextToken), (retriedNow.Status, retriedNow.Attempt, retriedNow.AttemptToken));
        Assert.Equal(TaskState.Cancelled, (await Store.GetAsync(cancelled.Id, Ct))!.Status);

        // The retry is due at once (no backoff) and is claimed as attempt 2 under its new token.
        var again = Assert.Single(await ClaimAsync(worker, 10));
        Assert.Equal((retried.Id, nextToken), (again.Id, again.AttemptToken));
    }

    [Fact]
    public async Task A_retry_with_a_worker_hands_the_next_attempt_to_that_worker()
    {
        var failing = Unique("worker");
        var other = Unique("worker");
        var single = await CreateAsync(worker: failing);
        var inSet = await CreateAsync(worker: failing);
        var plain = await CreateAsync(worker: failing);
        await ClaimAsync(failing, 10);

        var handed = await Store.ApplyAsync(new RetryAttempt(single.Id, single.AttemptToken, "wrong result", Guid.NewGuid(), TimeSpan.Zero, other), Ct);
        var outcomes = await Store.ApplyOutcomesAsync(
            [
                new RetryAttempt(inSet.Id, inSet.AttemptToken, "wrong result", Guid.NewGuid(), TimeSpan.Zero, other),
                new RetryAttempt(plain.Id, plain.AttemptToken, "boom", Guid.NewGuid()),
            ],
            Ct);

        Assert.Equal(TransitionOutcome.Applied, handed.Outcome);
        Assert.Equal(other, handed.Task!.Worker);
        Assert.Equal(failing, Assert.Single(handed.Task.History).Worker);
        Assert.Equal([TransitionOutcome.Applied, TransitionOutcome.Applied], outcomes);
        Assert.Equal(failing, (await Store.GetAsync(plain.Id, Ct))!.Worker);
        Assert.Equal([plain.Id], (await ClaimAsync(failing, 10)).Select(t => t.Id));
        Assert.Equal(new[] { single.Id, inSet.Id }.Order(), (await ClaimAsync(other, 10)).Select(t => t.Id).Order());
    }

    [Fact]
    public async Task A_set_of_outcomes_refuses_a_retry_once_the_last_attempt_has_run()
    {
        var worker = Unique("worker");
        var task = await CreateAsync(worker: worker, maxAttempts: 1);
        await ClaimAsync(worker, 10);

        var outcomes = await Store.ApplyOutcomesAsync([new RetryAttempt(task.Id, task.AttemptToken, "boom", Guid.NewGuid())], Ct);

        Assert.Equal([TransitionOutcome.Conflict], outcomes);
        Assert.Equal(TaskState.Running, (await Store.GetAsync(task.Id, Ct))!.Status);
    }

    [Fact]
    public async Task Many_tasks_are_created_in_one_call_with_each_idempotency_key_resolved()
    {
        var stored = await Store.CreateAsync(NewTask("echo", """{"x":1}""", key: Unique("key")), Ct);
        var fresh = NewTask("echo", """{"n":1}""");
        var sameKeyTwice = Unique("key");
        var first = NewTask("echo", """{"n":2}""", key: sameKeyTwice);
        var repeat = NewTask("echo", """{"n":2}""", key: sameKeyTwice);
        var replay = NewTask("echo", """{"x":1}""", key: stored.Task.IdempotencyKey);
        var conflict = NewTask("echo", """{"x":2}""", key: stored.Task.IdempotencyKey);

        var results = await Store.CreateManyAsync([fresh, first, repeat, replay, conflict], Ct);

        Assert.Equal(
            [CreateOutcome.Created, CreateOutcome.Created, CreateOutcome.Existing, CreateOutcome.Existing, CreateOutcome.IdempotencyConflict],
            results.Select(r => r.Outcome));
        Assert.Equal(fresh.Id, results[0].Task.Id);
        Assert.Equal(first.Id, results[2].Task.Id);
        Assert.Equal(stored.Task.Id, results[3].Task.Id);
        Assert.Equal(stored.Task.Id, results[4].Task.Id);
        Assert.Null(await Store.GetAsync(repeat.Id, Ct));
    }

    [Fact]
    public async Task Current_attempts_tell_an_executor_which_runs_were_superseded()
    {
        var queued = await CreateAsync();
        var cancelled = await CreateAsync();
        await Store.ApplyAsync(new CancelTask(cancelled.Id), Ct);

        var current = await Store.GetCurrentAttemptsAsync([queued.Id, cancelled.Id, Guid.NewGuid()], Ct);

        Assert.Equal(
            [new CurrentAttempt(queued.Id, TaskState.Queued, queued.AttemptToken), new CurrentAttempt(cancelled.Id, TaskState.Cancelled, cancelled.AttemptToken)],
            current.OrderBy(c => c.Id));
    }

    [Fact]
    public async Task Tasks_are_counted_by_status()
    {
        var before = await Store.CountByStatusAsync(Ct);
        var task = await CreateAsync();
        await Store.ApplyAsync(new CancelTask(task.Id), Ct);
        await CreateAsync();

        var after = await Store.CountByStatusAsync(Ct);

        Assert.Equal(Enum.GetValues<TaskState>().Length, after.Count);
        Assert.Equal(before[TaskState.Cancelled] + 1, after[TaskState.Cancelled]);
        Assert.True(after[TaskState.Queued] >= before[TaskState.Queued] + 1);
    }

    [Fact]
    public async Task Rescue_moves_a_queued_task_whose_owner_never_registered_onto_a_live_worker_keeping_its_attempt()
    {
        var fence = await HoldLeaseAsync();
        await LiveWorkerAsync();
        var task = await CreateAsync(worker: Unique("ghost"));

        var rescued = await RescueAllAsync(fence);

        var moved = Assert.Single(rescued, t => t.Id == task.Id);
        Assert.Equal((task.Worker, TaskState.Queued, 1), (moved.PreviousWorker, moved.Status, moved.Attempt));
        await AssertLiveTargetAsync(moved.Worker);
        var stored = (await Store.GetAsync(task.Id, Ct))!;
        Assert.Equal(moved.Worker, stored.Worker);
        Assert.Equal(1, stored.Attempt);
        Assert.NotEqual(task.AttemptToken, stored.AttemptToken);
        Assert.Equal(task.DueAt, stored.DueAt);
        Assert.Empty(stored.History);
    }

    [Fact]
    public async Task Rescue_fails_a_running_task_whose_lost_attempt_was_its_last_and_refuses_the_lost_attempts_outcome()
    {
        var fence = await HoldLeaseAsync();
        await LiveWorkerAsync();
        var ghost = Unique("ghost");
        var task = await CreateAsync(worker: ghost, maxAttempts: 1);
        Assert.Single(await ClaimAsync(ghost, 10));
        await fixture.Nodes.LeaveAsync(ghost, Ct);

        var rescued = await RescueAllAsync(fence);
        var late = await Store.ApplyAsync(new CompleteAttempt(task.Id, task.AttemptToken, "1"), Ct);

        Assert.Equal(TaskState.Failed, Assert.Single(rescued, t => t.Id == task.Id).Status);
        var stored = (await Store.GetAsync(task.Id, Ct))!;
        Assert.Equal(TaskState.Failed, stored.Status);
        Assert.Equal(1, stored.Attempt);
        Assert.Equal($"worker {ghost} was lost during attempt 1", stored.Error);
        Assert.NotNull(stored.FinishedAt);
        Assert.Equal(AttemptRecord.Failed, Assert.Single(stored.History).Outcome);
        Assert.Equal(TransitionOutcome.Conflict, late.Outcome);
    }

    [Fact]
    public async Task Rescue_retries_a_lost_running_attempt_as_the_next_after_the_backoff()
    {
        var fence = await HoldLeaseAsync();
        await LiveWorkerAsync();
        var ghost = Unique("ghost");
        var task = await CreateAsync(worker: ghost, maxAttempts: 3);
        Assert.Single(await ClaimAsync(ghost, 10));
        await fixture.Nodes.LeaveAsync(ghost, Ct);

        await RescueAllAsync(fence, backoff: new RetryBackoff(TimeSpan.FromHours(1), TimeSpan.FromHours(1)));

        var stored = (await Store.GetAsync(task.Id, Ct))!;
        Assert.Equal((TaskState.Queued, 2), (stored.Status, stored.Attempt));
        await AssertLiveTargetAsync(stored.Worker);
        Assert.NotEqual(task.AttemptToken, stored.AttemptToken);
        Assert.Null(stored.StartedAt);
        Assert.Equal(AttemptRecord.Lost, Assert.Single(stored.History).Outcome);
        Assert.Equal(ghost, stored.History[0].Worker);
        Assert.True(stored.DueAt > stored.CreatedAt + TimeSpan.FromMinutes(45), $"due {stored.DueAt}: the backoff of 1 h (±20%) was not applied");
        Assert.DoesNotContain(await ClaimAsync(stored.Worker!, 1_000), t => t.Id == task.Id);
    }

    [Fact]
    public async Task Rescue_leaves_a_live_workers_tasks_and_takes_only_the_queued_ones_of_a_draining_worker()
    {
        var fence = await HoldLeaseAsync();
        await LiveWorkerAsync();
        var steady = await LiveWorkerAsync();
        var leaving = Unique("leaving");
        await fixture.Nodes.HeartbeatAsync(new NodeHeartbeat(leaving, NodeRole.Worker, "http://leaving", new NodeLoad(0, 0, 4, Draining: true)), Ct);
        var steadyTask = await CreateAsync(worker: steady);
        var runningOnLeaving = await CreateAsync(worker: leaving);
        Assert.Single(await Store.ClaimAsync(leaving, 10, LiveFor, Ct));
        var queuedOnLeaving = await CreateAsync(worker: leaving);

        var rescued = await RescueAllAsync(fence);

        Assert.DoesNotContain(rescued, t => t.Id == steadyTask.Id || t.Id == runningOnLeaving.Id);
        Assert.Equal(steady, (await Store.GetAsync(steadyTask.Id, Ct))!.Worker);
        Assert.Equal((TaskState.Running, leaving), ((await Store.GetAsync(runningOnLeaving.Id, Ct))!.Status, (await Store.GetAsync(runningOnLeaving.Id, Ct))!.Worker));
        var moved = (await Store.GetAsync(queuedOnLeaving.Id, Ct))!;
        await AssertLiveTargetAsync(moved.Worker);
        Assert.Equal(1, moved.Attempt);
    }

    [Fact]
    public async Task Rescue_hands_nothing_to_a_silent_draining_quarantined_or_gateway_node()
    {
        // Other tests' live workers share this database and are fair targets: the check is that the task never lands on
        // the nodes below, even when they are the least loaded.
        var fence = await HoldLeaseAsync();
        var ghost = Unique("ghost");
        var silent = Unique("silent");
        var draining = Unique("draining");
        var quarantined = Unique("quarantined");
        var gateway = Unique("gateway");
        await fixture.Nodes.HeartbeatAsync(new NodeHeartbeat(silent, NodeRole.Worker, "http://s", new NodeLoad(0, 0, 4)), Ct);
        await fixture.Nodes.HeartbeatAsync(new NodeHeartbeat(draining, NodeRole.Worker, "http://d", new NodeLoad(0, 0, 4, Draining: true)), Ct);
        await fixture.Nodes.HeartbeatAsync(new NodeHeartbeat(quarantined, NodeRole.Worker, "http://q", new NodeLoad(0, 0, 4, Quarantined: true)), Ct);
        await fixture.Nodes.HeartbeatAsync(new NodeHeartbeat(gateway, NodeRole.Gateway, "http://g", default), Ct);
        var queued = new List<TaskRecord>();
        for (var i = 0; i < 20; i++)
        {
            queued.Add(await CreateAsync(worker: ghost));
        }

        await Task.Delay(TimeSpan.FromMilliseconds(300), Ct);
        await LiveWorkerAsync();
        await RescueAllAsync(fence, workerTimeout: TimeSpan.FromMilliseconds(250));

        foreach (var task in queued)
        {
            var worker = (await Store.GetAsync(task.Id, Ct))!.Worker;
            Assert.NotNull(worker);
            Assert.DoesNotContain(worker, new[] { ghost, silent, draining, quarantined, gateway });
        }
    }

    [Fact]
    public async Task With_no_live_worker_a_rescue_still_fails_exhausted_tasks_and_leaves_queued_ones_with_their_owner()
    {
        var fence = await HoldLeaseAsync();
        var ghost = Unique("ghost");
        var exhausted = await CreateAsync(worker: ghost, maxAttempts: 1);
        Assert.Single(await ClaimAsync(ghost, 10));
        await fixture.Nodes.LeaveAsync(ghost, Ct);
        var queued = await CreateAsync(worker: ghost);

        // Every node in this database is older than 1 ms by the time the statement runs: none is a target.
        await RescueAllAsync(fence, workerTimeout: TimeSpan.FromMilliseconds(1));

        var waiting = (await Store.GetAsync(queued.Id, Ct))!;
        Assert.Equal((TaskState.Queued, ghost, queued.AttemptToken), (waiting.Status, waiting.Worker, waiting.AttemptToken));
        Assert.Equal(TaskState.Failed, (await Store.GetAsync(exhausted.Id, Ct))!.Status);
    }

    [Fact]
    public async Task Rescue_by_a_superseded_primary_is_fenced_and_changes_nothing()
    {
        var leaseName = Unique("lease");
        var old = (await fixture.Leases.TryAcquireAsync(leaseName, "gateway-old", "http://old", TimeSpan.FromMinutes(1), Ct)).Lease!;
        await fixture.Leases.ReleaseAsync(old.Fence, Ct);
        Assert.True((await fixture.Leases.TryAcquireAsync(leaseName, "gateway-new", "http://new", TimeSpan.FromMinutes(1), Ct)).Succeeded);
        await LiveWorkerAsync();
        var task = await CreateAsync(worker: Unique("ghost"));

        var result = await Store.RescueAsync(new RescueRequest(TimeSpan.FromSeconds(5), 10_000, Backoff), old.Fence, Ct);

        Assert.True(result.Fenced);
        Assert.Empty(result.Tasks);
        var stored = (await Store.GetAsync(task.Id, Ct))!;
        Assert.Equal((task.Worker, task.AttemptToken), (stored.Worker, stored.AttemptToken));
    }

    [Fact]
    public async Task Release_hands_a_running_attempt_back_without_spending_it_and_refuses_the_old_token()
    {
        var task = await CreateAsync();
        Assert.Contains(await ClaimAsync(task.Worker!, 1_000), t => t.Id == task.Id);
        var next = Guid.NewGuid();

        var released = await Store.ApplyAsync(new ReleaseAttempt(task.Id, task.AttemptToken, next), Ct);
        var late = await Store.ApplyAsync(new CompleteAttempt(task.Id, task.AttemptToken, "1"), Ct);

        Assert.Equal(TransitionOutcome.Applied, released.Outcome);
        Assert.Equal((TaskState.Queued, 1, next, task.Worker), (released.Task!.Status, released.Task.Attempt, released.Task.AttemptToken, released.Task.Worker));
        Assert.Null(released.Task.StartedAt);
        Assert.Empty(released.Task.History);
        Assert.Equal(TransitionOutcome.Conflict, late.Outcome);
    }

    [Fact]
    public async Task A_set_sent_again_after_its_commit_finds_its_own_rows_created()
    {
        var keyed = NewTask("echo", "1", key: Unique("key"));
        var plain = NewTask("echo", "2");
        await Store.CreateManyAsync([keyed, plain], Ct);

        var again = await Store.CreateManyAsync([keyed, plain], Ct);

        Assert.All(again, r => Assert.Equal(CreateOutcome.Created, r.Outcome));
        Assert.Equal([keyed.Id, plain.Id], again.Select(r => r.Task.Id));
    }

    private static readonly RetryBackoff Backoff = new(TimeSpan.Zero, TimeSpan.Zero);

    private async Task<List<RescuedTask>> RescueAllAsync(Fence fence, RetryBackoff? backoff = null, TimeSpan? workerTimeout = null)
    {
        var all = new List<RescuedTask>();
        RescueResult result;
        do
        {
            result = await Store.RescueAsync(new RescueRequest(workerTimeout ?? TimeSpan.FromSeconds(30), 1_000, backoff ?? Backoff), fence, Ct);
            Assert.False(result.Fenced);
            all.AddRange(result.Tasks);
        }
        while (result.Tasks.Count == 1_000);

        return all;
    }

    /// <summary>How long a heartbeat keeps a worker live for the claims of these tests.</summary>
    private static readonly TimeSpan LiveFor = TimeSpan.FromMinutes(1);

    /// <summary>A claim by <paramref name="worker"/> as a live, registered worker.</summary>
    private async Task<IReadOnlyList<TaskRecord>> ClaimAsync(string worker, int limit)
    {
        await BeatAsync(worker);
        return await Store.ClaimAsync(worker, limit, LiveFor, Ct);
    }

    private Task BeatAsync(string worker) =>
        fixture.Nodes.HeartbeatAsync(new NodeHeartbeat(worker, NodeRole.Worker, $"http://{worker}", new NodeLoad(0, 0, 4)), Ct);

    /// <summary>
    /// A rescued task's new owner is a live worker that is neither draining nor quarantined. Other tests' workers share
    /// this database and are fair targets, so the check is on what the node is, not on which one it is.
    /// </summary>
    private async Task AssertLiveTargetAsync(string? worker)
    {
        var target = Assert.Single(await fixture.Nodes.ListLiveAsync(TimeSpan.FromSeconds(30), Ct), n => n.NodeId == worker);
        Assert.Contains(target.Role, new[] { NodeRole.Worker, NodeRole.Standalone });
        Assert.Equal((false, false), (target.Load.Draining, target.Load.Quarantined));
    }

    private async Task<string> LiveWorkerAsync()
    {
        var id = Unique("live");
        await BeatAsync(id);
        return id;
    }

    private async Task<Fence> HoldLeaseAsync()
    {
        var acquired = await fixture.Leases.TryAcquireAsync(Unique("lease"), "gateway-a", "http://a", TimeSpan.FromMinutes(1), Ct);
        Assert.True(acquired.Succeeded);
        return acquired.Lease!.Fence;
    }

    private async Task<TaskRecord> CreateAsync(string? type = null, string worker = "worker-a", int maxAttempts = 3)
    {
        var result = await Store.CreateAsync(NewTask(type ?? "echo", """{"x":1}""", worker: worker, maxAttempts: maxAttempts), Ct);
        Assert.Equal(CreateOutcome.Created, result.Outcome);
        return result.Task;
    }

    [Fact]
    public async Task Retention_removes_finished_tasks_past_their_age_in_batches_and_never_an_active_one()
    {
        var worker = $"retention-{Guid.NewGuid():N}";
        var running = NewTask("echo", "1", worker: worker);
        var succeeded = NewTask("echo", "2", worker: worker);
        var cancelled = NewTask("echo", "3", worker: worker);
        var queued = NewTask("echo", "4", worker: worker);
        await Store.CreateAsync(running, Ct);
        Assert.Equal([running.Id], (await ClaimAsync(worker, 10)).Select(t => t.Id));
        foreach (var task in new[] { succeeded, cancelled, queued })
        {
            await Store.CreateAsync(task, Ct);
        }

        await Store.ApplyAsync(new StartAttempt(succeeded.Id, succeeded.AttemptToken, worker), Ct);
        await Store.ApplyAsync(new CompleteAttempt(succeeded.Id, succeeded.AttemptToken, "1"), Ct);
        await Store.ApplyAsync(new CancelTask(cancelled.Id), Ct);

        Assert.Equal(0, await Store.DeleteFinishedBeforeAsync(TimeSpan.FromHours(1), 100, Ct));
        Assert.NotNull(await Store.GetAsync(succeeded.Id, Ct));

        int removed;
        do
        {
            removed = await Store.DeleteFinishedBeforeAsync(TimeSpan.Zero, 1, Ct);
            Assert.InRange(removed, 0, 1);
        }
        while (removed > 0);

        Assert.Null(await Store.GetAsync(succeeded.Id, Ct));
        Assert.Null(await Store.GetAsync(cancelled.Id, Ct));
        Assert.Equal(TaskState.Queued, (await Store.GetAsync(queued.Id, Ct))?.Status);
        Assert.Equal(TaskState.Running, (await Store.GetAsync(running.Id, Ct))?.Status);
    }

    private static NewTask NewTask(string type, string payload, string? key = null, string worker = "worker-a", int maxAttempts = 3) => new()
    {
        Id = Guid.CreateVersion7(),
        Type = type,
        Payload = payload,
        MaxAttempts = maxAttempts,
        Worker = worker,
        AttemptToken = Guid.NewGuid(),
        IdempotencyKey = key,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}
