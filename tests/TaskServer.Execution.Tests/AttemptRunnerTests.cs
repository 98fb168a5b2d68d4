using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Tasks;
using TaskServer.Testing;

namespace TaskServer.Execution.Tests;

public sealed class AttemptRunnerTests : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly InMemoryTaskStore store = new();
    private readonly FakeTimeProvider time = new();
    private readonly StoppableLifetime lifetime = new();
    private readonly ServiceProvider metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ExecutionOptions options = new() { TimeoutGrace = TimeSpan.FromSeconds(5), RetryBaseDelay = TimeSpan.FromSeconds(1) };
    private readonly AttemptOutcomes outcomes;

    public AttemptRunnerTests() => outcomes = new AttemptOutcomes(store, new StorageErrors(new TimeoutsAreOutages()), time, lifetime);

    public async ValueTask DisposeAsync()
    {
        await lifetime.StopAsync();
        await outcomes.DisposeAsync();
        await metrics.DisposeAsync();
        lifetime.Dispose();
    }

    [Fact]
    public async Task At_its_deadline_a_handler_that_honours_its_token_is_cancelled_and_the_attempt_fails_as_timed_out()
    {
        var task = Running(TimeSpan.FromSeconds(1), maxAttempts: 1);
        var run = Runner(new WaitingHandler(honoursToken: true)).RunAsync(task, Attempt(task));

        time.Advance(TimeSpan.FromSeconds(1));
        await run.WaitAsync(Wait, TestContext.Current.CancellationToken);

        var stored = store.Get(task.Id);
        Assert.Equal(TaskState.Failed, stored.Status);
        Assert.Equal("timed out after 00:00:01", stored.Error);
    }

    [Fact]
    public async Task A_handler_that_ignores_its_token_is_abandoned_after_the_grace_and_its_attempt_retried()
    {
        var task = Running(TimeSpan.FromSeconds(1), maxAttempts: 2);
        var handler = new WaitingHandler(honoursToken: false);
        var run = Runner(handler).RunAsync(task, Attempt(task));

        // The handler runs on the thread pool: the deadline must pass after it started, or it would never run at all.
        await Eventually.HoldsAsync(() => Task.FromResult(handler.Started), Wait, "the handler to start");
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.HoldsAsync(() => Task.FromResult(handler.TokenCancelled), Wait, "the handler's token to be cancelled");
        Assert.False(run.IsCompleted);
        time.Advance(options.TimeoutGrace);
        await run.WaitAsync(Wait, TestContext.Current.CancellationToken);

        var stored = store.Get(task.Id);
        Assert.Equal((TaskState.Queued, 2), (stored.Status, stored.Attempt));
        Assert.False(handler.Finished);

        // What it returns after being abandoned is never written: its attempt is over.
        handler.Finish();
        Assert.Equal((TaskState.Queued, 2), (store.Get(task.Id).Status, store.Get(task.Id).Attempt));
    }

    [Fact]
    public async Task An_attempt_stopped_by_shutdown_writes_nothing_and_says_so()
    {
        var task = Running(TimeSpan.FromMinutes(1), maxAttempts: 1);
        var shutdown = new WorkerShutdown();
        var attempt = Attempt(task);
        var run = Runner(new WaitingHandler(honoursToken: true), shutdown).RunAsync(task, attempt);

        shutdown.BeginDraining();
        await attempt.Stop.CancelAsync();
        var end = await run.WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.True(end.Stopped);
        Assert.Equal(TaskState.Running, store.Get(task.Id).Status);
    }

    private AttemptRunner Runner(ITaskHandler handler, WorkerShutdown? shutdown = null) => new(
        new TaskHandlers([handler]),
        outcomes,
        new StorageErrors(new TimeoutsAreOutages()),
        shutdown ?? new WorkerShutdown(),
        new TaskArrivals(),
        new NoVerdicts(),
        new ExecutionWorker("w1", 4, TimeSpan.FromSeconds(5)),
        Options.Create(options),
        new TaskMetrics(metrics.GetRequiredService<IMeterFactory>()),
        new TaskTracing(),
        time,
        lifetime,
        NullLogger<AttemptRunner>.Instance);

    private TaskRecord Running(TimeSpan timeout, int maxAttempts)
    {
        var task = store.Add("w1") with { Type = "wait", Status = TaskState.Running, Timeout = timeout, MaxAttempts = maxAttempts };
        store.Replace(task);
        return task;
    }

    private RunningAttempt Attempt(TaskRecord task) => new(task.Id, task.AttemptToken, time.GetTimestamp(), new CancellationTokenSource());

    /// <summary>Waits until finished; with <c>honoursToken</c> false it goes on waiting after its token is cancelled.</summary>
    private sealed class WaitingHandler(bool honoursToken) : ITaskHandler
    {
        private readonly TaskCompletionSource finish = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool started;
        private volatile bool tokenCancelled;
        private volatile bool finished;

        public bool Started => started;

        public string Type => "wait";

        public bool TokenCancelled => tokenCancelled;

        public bool Finished => finished;

        public void Finish() => finish.TrySetResult();

        public string? Validate(JsonElement payload) => null;

        public async Task<JsonNode?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
        {
            using var noted = cancellationToken.Register(() => tokenCancelled = true);
            started = true;
            await (honoursToken ? finish.Task.WaitAsync(cancellationToken) : finish.Task);
            finished = true;
            return JsonValue.Create("done");
        }
    }

    private sealed class NoVerdicts : IResultVerdicts
    {
        public bool RecordIncorrect() => false;

        public Task<string?> PickRetryWorkerAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);
    }

    private sealed class TimeoutsAreOutages : IStorageErrorClassifier
    {
        public bool IsUnavailable(Exception exception) => exception is TimeoutException;
    }

    private sealed class StoppableLifetime : IHostApplicationLifetime, IDisposable
    {
        private readonly CancellationTokenSource stopping = new();
        private readonly CancellationTokenSource stopped = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => stopping.Token;

        public CancellationToken ApplicationStopped => stopped.Token;

        public void StopApplication() => stopping.Cancel();

        public async Task StopAsync()
        {
            await stopping.CancelAsync();
            await stopped.CancelAsync();
        }

        public void Dispose()
        {
            stopping.Dispose();
            stopped.Dispose();
        }
    }
}
