using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TaskServer.StorageManager.Tasks;
using TaskServer.Testing;

namespace TaskServer.Execution.Tests;

public sealed class TaskDrainTests : IAsyncLifetime
{
    private const string Worker = "w1";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly InMemoryTaskStore store = new();
    private readonly FakeTimeProvider time = new();
    private readonly TaskArrivals arrivals = new();
    private readonly WorkerShutdown shutdown = new();
    private readonly ScriptedRunner runner;
    private readonly ExecutionOptions options = new() { ShutdownGrace = TimeSpan.FromSeconds(30), TimeoutGrace = TimeSpan.FromSeconds(5), OrphanCheckInterval = TimeSpan.FromSeconds(10) };
    private TaskDrain? drain;

    public TaskDrainTests() => runner = new ScriptedRunner(store);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (drain is not null)
        {
            runner.FinishAll();
            var stopping = drain.StopAsync(CancellationToken.None);
            time.Advance(options.ShutdownGrace + options.TimeoutGrace);
            await stopping;
            drain.Dispose();
        }
    }

    [Fact]
    public async Task It_claims_up_to_its_capacity_and_claims_again_as_a_slot_frees()
    {
        var tasks = Enumerable.Range(0, 3).Select(_ => store.Add(Worker)).OrderBy(t => t.Id).ToList();
        await StartAsync(capacity: 2);

        arrivals.Raise();
        await Eventually.HoldsAsync(() => Task.FromResult(runner.Started.Count == 2), Wait, "two attempts started");
        Assert.Equal(TaskState.Queued, store.Get(tasks[2].Id).Status);

        runner.Finish(tasks[0].Id);
        await Eventually.HoldsAsync(() => Task.FromResult(runner.Started.ContainsKey(tasks[2].Id)), Wait, "the third task claimed into the freed slot");
        Assert.Equal(TaskState.Succeeded, store.Get(tasks[0].Id).Status);
    }

    [Fact]
    public async Task Tasks_of_a_claim_whose_reply_was_lost_are_adopted_and_run_under_their_own_attempt()
    {
        var tasks = Enumerable.Range(0, 2).Select(_ => store.Add(Worker)).ToList();
        store.LoseNextClaimReply = true;
        await StartAsync(capacity: 4);

        arrivals.Raise();
        await Eventually.HoldsAsync(() => Task.FromResult(store.Claims == 1), Wait, "the claim that loses its reply");
        Assert.All(tasks, t => Assert.Equal(TaskState.Running, store.Get(t.Id).Status));
        Assert.Empty(runner.Started);

        time.Advance(TaskDrain.ClaimRetryDelay);
        await Eventually.HoldsAsync(() => Task.FromResult(runner.Started.Count == 2), Wait, "both orphans adopted");
        Assert.All(tasks, t => Assert.Equal(t.AttemptToken, runner.Started[t.Id].AttemptToken));
        Assert.All(tasks, t => Assert.Equal(1, runner.Starts(t.Id)));
    }

    [Fact]
    public async Task An_outcome_the_store_could_not_take_is_written_at_the_next_check_and_its_task_is_not_run_again()
    {
        var task = store.Add(Worker);
        await StartAsync(capacity: 4);
        arrivals.Raise();
        await Eventually.HoldsAsync(() => Task.FromResult(runner.Started.ContainsKey(task.Id)), Wait, "the attempt started");

        store.OutcomesFail = true;
        runner.Finish(task.Id);
        await Eventually.HoldsAsync(() => Task.FromResult(drain!.UnwrittenOutcomes == 1), Wait, "the outcome kept for later");
        Assert.Equal(TaskState.Running, store.Get(task.Id).Status);

        store.OutcomesFail = false;
        time.Advance(options.OrphanCheckInterval);
        await Eventually.HoldsAsync(() => Task.FromResult(store.Get(task.Id).Status == TaskState.Succeeded), Wait, "the outcome written on the next check");
        Assert.Equal(0, drain!.UnwrittenOutcomes);
        Assert.Equal(1, runner.Starts(task.Id));
    }

    [Fact]
    public async Task On_shutdown_it_stops_claiming_lets_attempts_finish_within_the_grace_then_hands_back_the_rest_unspent_and_leaves()
    {
        var finishing = store.Add(Worker);
        var slow = store.Add(Worker);
        await StartAsync(capacity: 4);
        arrivals.Raise();
        await Eventually.HoldsAsync(() => Task.FromResult(runner.Started.Count == 2), Wait, "both attempts started");
        var late = store.Add(Worker);

        shutdown.BeginDraining();
        var stopping = drain!.StopAsync(TestContext.Current.CancellationToken);
        arrivals.Raise();
        runner.Finish(finishing.Id);
        await Eventually.HoldsAsync(() => Task.FromResult(store.Get(finishing.Id).Status == TaskState.Succeeded), Wait, "the quick attempt's outcome");
        Assert.False(stopping.IsCompleted);

        time.Advance(options.ShutdownGrace);
        await stopping.WaitAsync(Wait, TestContext.Current.CancellationToken);
        drain = null;

        var handedBack = store.Get(slow.Id);
        Assert.Equal((TaskState.Queued, 1), (handedBack.Status, handedBack.Attempt));
        Assert.NotEqual(slow.AttemptToken, handedBack.AttemptToken);
        Assert.Equal(TaskState.Queued, store.Get(late.Id).Status);
        Assert.False(runner.Started.ContainsKey(late.Id));
        Assert.Equal([Worker], store.Left);
        Assert.True(shutdown.Left);
    }

    [Fact]
    public async Task A_draining_worker_claims_nothing()
    {
        store.Add(Worker);
        shutdown.BeginDraining();
        await StartAsync(capacity: 4);

        arrivals.Raise();
        await Task.Delay(TimeSpan.FromMilliseconds(200), TestContext.Current.CancellationToken);

        Assert.Equal(0, store.Claims);
    }

    private async Task StartAsync(int capacity)
    {
        drain = new TaskDrain(store, store, runner, new RunningAttempts(), arrivals, shutdown, new ExecutionWorker(Worker, capacity, TimeSpan.FromSeconds(5)), Options.Create(options), time, NullLogger<TaskDrain>.Instance);
        await drain.StartAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Attempts that run until the test finishes them; their outcome goes to the store as the real runner's does.</summary>
    private sealed class ScriptedRunner(InMemoryTaskStore store) : IAttemptRunner
    {
        private readonly ConcurrentDictionary<Guid, TaskCompletionSource> finishes = new();
        private readonly ConcurrentDictionary<Guid, int> starts = new();

        public ConcurrentDictionary<Guid, TaskRecord> Started { get; } = new();

        public int Starts(Guid id) => starts.GetValueOrDefault(id);

        public void Finish(Guid id) => finishes.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

        public void FinishAll()
        {
            foreach (var id in Started.Keys)
            {
                Finish(id);
            }
        }

        public async Task<AttemptEnd> RunAsync(TaskRecord task, RunningAttempt attempt)
        {
            Started[task.Id] = task;
            starts.AddOrUpdate(task.Id, 1, (_, n) => n + 1);
            var finished = finishes.GetOrAdd(task.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            await Task.WhenAny(finished, Task.Delay(Timeout.Infinite, attempt.Stop.Token));
            if (!finished.IsCompleted)
            {
                return new AttemptEnd(Stopped: true);
            }

            var outcome = new CompleteAttempt(task.Id, task.AttemptToken, "1");
            try
            {
                await store.ApplyOutcomesAsync([outcome], CancellationToken.None);
                return default;
            }
            catch (TimeoutException)
            {
                return new AttemptEnd(Unwritten: outcome);
            }
        }
    }
}
