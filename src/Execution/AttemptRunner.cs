using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Execution;

/// <summary>
/// Runs one claimed attempt: its handler under the attempt's deadline, then its outcome (complete, retry after a
/// backoff, or fail) through the set writer. Every outcome carries the attempt token: if the task was cancelled or
/// rescued meanwhile, the write misses and the outcome is dropped. At the deadline the handler's token is cancelled
/// and the attempt fails as timed out; a handler that ignores its token is given <see cref="ExecutionOptions.TimeoutGrace"/>
/// more, then its outcome is written without it. A result the handler can verify (<see cref="IVerifiesResults"/>) is
/// verified first: one that fails is a failed attempt, counted toward this worker's quarantine and retried on another
/// worker.
/// </summary>
public sealed partial class AttemptRunner(
    TaskHandlers handlers,
    AttemptOutcomes outcomes,
    StorageErrors storageErrors,
    WorkerShutdown shutdown,
    TaskArrivals arrivals,
    IResultVerdicts verdicts,
    ExecutionWorker node,
    IOptions<ExecutionOptions> options,
    TaskMetrics metrics,
    TaskTracing tracing,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<AttemptRunner> logger) : IAttemptRunner
{
    /// <summary>The local wake-up for a retry comes a little after its due time by the database clock.</summary>
    private static readonly TimeSpan PastDue = TimeSpan.FromMilliseconds(50);

    public async Task<AttemptEnd> RunAsync(TaskRecord task, RunningAttempt attempt)
    {
        using var activity = tracing.StartAttempt(task.Id, task.TraceParent, node.Id);
        activity?.SetTag("task.type", task.Type);
        activity?.SetTag("task.attempt", task.Attempt);
        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["TaskId"] = task.Id,
            ["Worker"] = node.Id,
            ["AttemptToken"] = task.AttemptToken,
            ["Attempt"] = task.Attempt,
        });

        var ran = await ExecuteAsync(task, attempt);
        if (ran.Stopped)
        {
            return new AttemptEnd(Stopped: true);
        }

        if (ran.Outcome is not { } outcome)
        {
            return default;
        }

        TransitionOutcome written;
        try
        {
            written = await WriteAsync(outcome);
        }
        catch (Exception exception)
        {
            LogOutcomeUnwritten(exception, task.Id, task.Attempt);
            return new AttemptEnd(Unwritten: outcome);
        }

        if (written != TransitionOutcome.Applied)
        {
            LogAttemptSuperseded(task.Id, task.Attempt);
            return default;
        }

        switch (outcome)
        {
            case CompleteAttempt:
                metrics.Succeeded(task.Type);
                break;
            case FailAttempt fail:
                metrics.Failed(task.Type);
                LogFailed(task.Id, task.Attempt, fail.Error);
                break;
            case RetryAttempt retry:
                metrics.Retried(task.Type);
                LogRetryScheduled(task.Id, task.Attempt + 1, retry.Delay, retry.Error);
                _ = RaiseWhenDueAsync(retry.Delay);
                break;
        }

        return default;
    }

    /// <summary>
    /// Writes the outcome; one the store refuses as data (a result it cannot hold) becomes a failure that says so,
    /// which it can. An outage is the caller's to handle: the drain writes the outcome again later.
    /// </summary>
    private async Task<TransitionOutcome> WriteAsync(TaskTransition outcome)
    {
        try
        {
            return await outcomes.WriteAsync(outcome);
        }
        catch (Exception exception) when (!storageErrors.IsUnavailable(exception) && outcome is not FailAttempt)
        {
            LogOutcomeNotStorable(exception, outcome.TaskId);
            return await outcomes.WriteAsync(new FailAttempt(outcome.TaskId, outcome.ExpectedToken!.Value, $"the outcome could not be stored: {exception.GetType().Name}"));
        }
    }

    /// <param name="Outcome">What to write; null when nothing is (the attempt was superseded).</param>
    /// <param name="Stopped">Stopped by shutdown: nothing to write, the drain hands the task back.</param>
    private readonly record struct Ran(TaskTransition? Outcome, bool Stopped = false);

    private async Task<Ran> ExecuteAsync(TaskRecord task, RunningAttempt attempt)
    {
        var handler = handlers.Find(task.Type);
        if (handler is null)
        {
            return new(new FailAttempt(task.Id, task.AttemptToken, $"no handler for task type '{task.Type}' on {node.Id}"));
        }

        var startedAt = timeProvider.GetTimestamp();
        using var deadline = new CancellationTokenSource(task.Timeout, timeProvider);
        using var handlerStop = CancellationTokenSource.CreateLinkedTokenSource(attempt.Stop.Token, deadline.Token);
        try
        {
            using var payload = JsonDocument.Parse(task.Payload);
            var context = new TaskExecutionContext(task.Id, task.Attempt, task.MaxAttempts, payload.RootElement, task.AttemptToken);

            // Off the drain's loop: a handler may compute for a while before its first await. Waited for no longer than
            // its deadline and grace: a handler that ignores its token does not keep the task.
            var run = Task.Run(() => handler.ExecuteAsync(context, handlerStop.Token), handlerStop.Token);
            var result = await run.WaitAsync(task.Timeout + options.Value.TimeoutGrace, timeProvider, CancellationToken.None);
            if (handler is IVerifiesResults verifier && verifier.Verify(payload.RootElement, result) is { } wrong)
            {
                metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "incorrect");
                return new(await IncorrectAsync(task, wrong));
            }

            metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "succeeded");
            return new(new CompleteAttempt(task.Id, task.AttemptToken, result?.ToJsonString() ?? "null"));
        }
        catch (TimeoutException)
        {
            metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "timed-out");
            LogHandlerAbandoned(task.Id, task.Attempt, options.Value.TimeoutGrace);
            return new(RetryOrFail(task, $"timed out after {task.Timeout}; the handler did not stop within {options.Value.TimeoutGrace} and was abandoned"));
        }
        catch (OperationCanceledException) when (handlerStop.IsCancellationRequested)
        {
            if (attempt.Superseded)
            {
                // Cancelled by a client, or rescued elsewhere: the store already says how this attempt ended.
                LogAttemptCancelled(task.Id, task.Attempt);
                return new(null);
            }

            if (deadline.IsCancellationRequested)
            {
                metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "timed-out");
                return new(RetryOrFail(task, $"timed out after {task.Timeout}"));
            }

            // Only shutdown stops an attempt otherwise: the drain hands the task back without spending the attempt.
            return new(null, Stopped: shutdown.Draining);
        }
        catch (Exception exception)
        {
            metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "failed");
            var error = exception is TaskHandlerException ? exception.Message : $"{exception.GetType().Name}: {exception.Message}";
            Activity.Current?.SetStatus(ActivityStatusCode.Error, error);
            return new(RetryOrFail(task, error));
        }
    }

    /// <summary>
    /// A result that failed verification: counted toward quarantine, and the next attempt handed to another live worker
    /// that is not quarantined, at once (this worker's answer is what is suspect, not the task). With no such worker the
    /// retry stays here, after the usual backoff.
    /// </summary>
    private async Task<TaskTransition> IncorrectAsync(TaskRecord task, string wrong)
    {
        var error = $"the result failed verification on {node.Id}: {wrong}";
        LogIncorrectResult(task.Id, task.Attempt, wrong);
        if (verdicts.RecordIncorrect())
        {
            LogQuarantined();
        }

        if (task.Attempt >= task.MaxAttempts)
        {
            return new FailAttempt(task.Id, task.AttemptToken, error);
        }

        var target = await verdicts.PickRetryWorkerAsync(lifetime.ApplicationStopping);
        return target is null
            ? RetryOrFail(task, error)
            : new RetryAttempt(task.Id, task.AttemptToken, error, Guid.NewGuid(), TimeSpan.Zero, target);
    }

    private TaskTransition RetryOrFail(TaskRecord task, string error) =>
        task.Attempt >= task.MaxAttempts
            ? new FailAttempt(task.Id, task.AttemptToken, error)
            : new RetryAttempt(task.Id, task.AttemptToken, error, Guid.NewGuid(), options.Value.RetryDelay(task.Attempt + 1, Random.Shared.NextDouble()));

    private async Task RaiseWhenDueAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay + PastDue, timeProvider, lifetime.ApplicationStopping);
            arrivals.Raise();
        }
        catch (OperationCanceledException)
        {
            // Shutting down: the task waits in the table for whoever owns it next.
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Outcome of task {TaskId} attempt {Attempt} dropped: the attempt was superseded")]
    private partial void LogAttemptSuperseded(Guid taskId, int attempt);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Task {TaskId} attempt {Attempt} scheduled in {Delay}: {Error}")]
    private partial void LogRetryScheduled(Guid taskId, int attempt, TimeSpan delay, string error);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Task {TaskId} failed after attempt {Attempt}: {Error}")]
    private partial void LogFailed(Guid taskId, int attempt, string error);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Attempt of task {TaskId} was cancelled (attempt {Attempt})")]
    private partial void LogAttemptCancelled(Guid taskId, int attempt);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Task {TaskId} attempt {Attempt}: the result failed verification: {Wrong}")]
    private partial void LogIncorrectResult(Guid taskId, int attempt, string wrong);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "Results failed verification repeatedly: this worker is quarantined until its canaries verify again")]
    private partial void LogQuarantined();

    [LoggerMessage(EventId = 104, Level = LogLevel.Error, Message = "The outcome of task {TaskId} attempt {Attempt} could not be written; the drain writes it again later")]
    private partial void LogOutcomeUnwritten(Exception exception, Guid taskId, int attempt);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Task {TaskId} attempt {Attempt} timed out and its handler did not stop within {Grace}: abandoned")]
    private partial void LogHandlerAbandoned(Guid taskId, int attempt, TimeSpan grace);

    [LoggerMessage(EventId = 108, Level = LogLevel.Error, Message = "The store refused the outcome of task {TaskId}; recording it as failed")]
    private partial void LogOutcomeNotStorable(Exception exception, Guid taskId);
}
