using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Execution.Tests;

public sealed class AttemptFenceTests
{
    private static readonly JsonElement Payload = JsonDocument.Parse("1").RootElement.Clone();

    private static readonly TimeSpan WorkerTimeout = TimeSpan.FromSeconds(5);

    private readonly InMemoryTaskStore store = new();
    private readonly RunningAttempts running = new();
    private readonly FakeTimeProvider time = new();
    private readonly LastHeartbeat heartbeat;
    private readonly AttemptFence fence;

    public AttemptFenceTests()
    {
        heartbeat = new LastHeartbeat(time);
        heartbeat.Taken(time.GetTimestamp());
        fence = new AttemptFence(running, store, heartbeat, new ExecutionWorker("w1", 4, WorkerTimeout));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_attempt_running_here_and_current_in_the_store_is_current()
    {
        var (context, _) = await RunningHereAsync();

        Assert.True(await fence.IsCurrentAsync(context, Ct));
    }

    [Fact]
    public async Task An_attempt_whose_task_was_failed_while_its_worker_was_silent_is_not_current()
    {
        // The chaos harness's stale side effects: a maxAttempts 1 task failed by the rescue ("worker lost"), and its
        // paused worker, running again, about to call back.
        var (context, task) = await RunningHereAsync();
        store.Replace(task with { Status = TaskState.Failed, Error = "worker w1 was lost during attempt 1" });

        Assert.False(await fence.IsCurrentAsync(context, Ct));
    }

    [Fact]
    public async Task An_attempt_whose_task_moved_on_to_a_next_attempt_is_not_current()
    {
        var (context, task) = await RunningHereAsync();
        store.Replace(task with { Status = TaskState.Running, Attempt = 2, AttemptToken = Guid.NewGuid(), Worker = "w2" });

        Assert.False(await fence.IsCurrentAsync(context, Ct));
    }

    [Fact]
    public async Task An_attempt_seen_superseded_here_or_not_running_here_is_not_current()
    {
        var (superseded, _) = await RunningHereAsync();
        running.Find(superseded.TaskId, superseded.AttemptToken)!.Supersede();
        var stranger = new TaskExecutionContext(store.Add("w1").Id, 1, 1, Payload, Guid.NewGuid());

        Assert.False(await fence.IsCurrentAsync(superseded, Ct));
        Assert.False(await fence.IsCurrentAsync(stranger, Ct));
    }

    [Fact]
    public async Task A_confirmation_that_reached_a_worker_paused_past_half_its_timeout_since_its_last_heartbeat_is_not_current()
    {
        // The row said Running under this attempt when the database answered, but the worker was stopped before it
        // read the answer: by the time it runs on, a rescue may have taken the attempt.
        var (context, _) = await RunningHereAsync();
        store.WhileAnswerTravels = () => time.Advance(WorkerTimeout / 2);

        Assert.False(await fence.IsCurrentAsync(context, Ct));
    }

    [Fact]
    public async Task A_worker_whose_heartbeats_the_database_has_not_taken_for_half_its_timeout_confirms_nothing()
    {
        var (context, _) = await RunningHereAsync();
        time.Advance(WorkerTimeout / 2 - TimeSpan.FromMilliseconds(1));
        var justInside = await fence.IsCurrentAsync(context, Ct);
        time.Advance(TimeSpan.FromMilliseconds(1));
        var atHalf = await fence.IsCurrentAsync(context, Ct);
        heartbeat.Taken(time.GetTimestamp());
        var afterBeat = await fence.IsCurrentAsync(context, Ct);

        Assert.Equal((true, false, true), (justInside, atHalf, afterBeat));
    }

    [Fact]
    public async Task Before_its_first_heartbeat_was_taken_a_worker_confirms_nothing()
    {
        var (context, _) = await RunningHereAsync();
        var fresh = new AttemptFence(running, store, new LastHeartbeat(time), new ExecutionWorker("w1", 4, WorkerTimeout));

        Assert.False(await fresh.IsCurrentAsync(context, Ct));
    }

    [Fact]
    public async Task An_attempt_the_store_cannot_confirm_is_not_current()
    {
        var (context, _) = await RunningHereAsync();
        store.ReadsFail = true;

        Assert.False(await fence.IsCurrentAsync(context, Ct));
    }

    private async Task<(TaskExecutionContext Context, TaskRecord Task)> RunningHereAsync()
    {
        var queued = store.Add("w1");
        var task = Assert.Single(await store.ClaimAsync("w1", 1, TimeSpan.FromSeconds(5), Ct));
        Assert.Equal(queued.Id, task.Id);
        Assert.True(running.TryBegin(new RunningAttempt(task.Id, task.AttemptToken, 0, new CancellationTokenSource())));
        return (new TaskExecutionContext(task.Id, task.Attempt, task.MaxAttempts, Payload, task.AttemptToken), task);
    }
}
