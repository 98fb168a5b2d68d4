using System.Diagnostics;
using System.Text.Json;
using Hangfire;
using Microsoft.Extensions.Options;
using TaskServer.Host.Node;
using TaskServer.Host.Telemetry;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Execution;

/// <summary>
/// The Hangfire job that runs one attempt of a task, and the one place that moves a task through
/// execution: Start before the handler, then Complete, Retry (with a new job for the next attempt)
/// or Fail. Hangfire's job state follows from the outcome (return: Succeeded, throw: Failed), so
/// the two never disagree about an attempt. Every write carries the attempt token: if the task was
/// cancelled or requeued meanwhile, the write misses and this attempt's outcome is dropped.
/// </summary>
public sealed partial class TaskJob(
    ITaskStore store,
    TaskHandlers handlers,
    TaskJobScheduler scheduler,
    NodeIdentity node,
    IOptions<ExecutionOptions> options,
    TaskMetrics metrics,
    LocalAttempts localAttempts,
    TaskTracing tracing,
    TimeProvider timeProvider,
    StorageErrors storageErrors,
    IHostApplicationLifetime lifetime,
    ILogger<TaskJob> logger)
{
    [JobDisplayName("task {0}")]
    [AutomaticRetry(Attempts = 10, DelaysInSeconds = [1, 2, 5, 10, 15, 30, 60, 60, 120, 300], OnlyOn = [typeof(TaskStoreUnavailableException)])]
    public async Task RunAsync(Guid taskId, Guid attemptToken, string? traceParent, CancellationToken cancellationToken)
    {
        using var attempt = tracing.StartAttempt(taskId, traceParent, node.Id);
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["TaskId"] = taskId, ["Worker"] = node.Id, ["AttemptToken"] = attemptToken });
        try
        {
            await RunAttemptAsync(taskId, attemptToken, cancellationToken);
        }
        catch (Exception exception) when (exception is not (AttemptFailedException or OperationCanceledException) && storageErrors.IsUnavailable(exception))
        {
            // Without this the job would fail for good and leave the task Queued (or Running) with nobody to move it on.
            LogStoreUnavailable(exception, taskId);
            throw new TaskStoreUnavailableException($"Task {taskId}: the database was out of reach; Hangfire retries this job.", exception);
        }
    }

    private async Task RunAttemptAsync(Guid taskId, Guid attemptToken, CancellationToken cancellationToken)
    {
        // Outcome writes must land even while the host is stopping (the attempt ran); they are bounded by the host's end.
        var writes = lifetime.ApplicationStopped;
        var started = await store.ApplyAsync(new StartAttempt(taskId, attemptToken, node.Id), writes);
        if (!started.Applied)
        {
            if (IsLostRun(started.Task, attemptToken))
            {
                // Hangfire re-delivered the job of an attempt that started here and ended without
                // recording its outcome (the database was out of reach): that run failed; retry it under
                // a new token, so a repeated side effect always carries a new attempt number.
                await RetryOrFailAsync(started.Task!, attemptToken, $"the run of attempt {started.Task!.Attempt} on {node.Id} ended without recording its outcome", writes);
                return;
            }

            LogAttemptSuperseded(taskId, started.Outcome, started.Task?.Status);
            return;
        }

        var task = started.Task!;
        Activity.Current?.SetTag("task.type", task.Type);
        Activity.Current?.SetTag("task.attempt", task.Attempt);
        using var attemptScope = logger.BeginScope(new Dictionary<string, object> { ["Attempt"] = task.Attempt });
        if (!localAttempts.TryBegin(taskId, attemptToken))
        {
            return;
        }

        try
        {
            await RunStartedAsync(task, attemptToken, writes, cancellationToken);
        }
        finally
        {
            localAttempts.End(taskId);
        }
    }

    private bool IsLostRun(TaskRecord? current, Guid attemptToken) =>
        current is { Status: TaskState.Running } && current.AttemptToken == attemptToken && current.Worker == node.Id
        && !localAttempts.IsRunning(current.Id, attemptToken);

    private async Task RunStartedAsync(TaskRecord task, Guid attemptToken, CancellationToken writes, CancellationToken cancellationToken)
    {
        var taskId = task.Id;
        var handler = handlers.Find(task.Type);
        if (handler is null)
        {
            await store.ApplyAsync(new FailAttempt(taskId, attemptToken, $"no handler for task type '{task.Type}' on {node.Id}"), writes);
            return;
        }

        using var payload = JsonDocument.Parse(task.Payload);
        var startedAt = timeProvider.GetTimestamp();
        try
        {
            var result = await handler.ExecuteAsync(new TaskExecutionContext(taskId, task.Attempt, task.MaxAttempts, payload.RootElement), cancellationToken);
            metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "succeeded");
            var completed = await store.ApplyAsync(new CompleteAttempt(taskId, attemptToken, result?.ToJsonString() ?? "null"), writes);
            if (completed.Applied)
            {
                metrics.Succeeded(task.Type);
            }
            else
            {
                LogAttemptSuperseded(taskId, completed.Outcome, completed.Task?.Status);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // On shutdown the task stays Running under this node, whose heartbeat stops: the sweeper
            // requeues it. Otherwise the job was deleted (a client's or an operator's cancel).
            if (!lifetime.ApplicationStopping.IsCancellationRequested)
            {
                await store.ApplyAsync(new CancelTask(taskId, attemptToken), writes);
                LogAttemptCancelled(taskId, task.Attempt);
            }

            throw;
        }
        catch (Exception exception)
        {
            metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "failed");
            var error = Describe(exception);
            Activity.Current?.SetStatus(ActivityStatusCode.Error, error);
            await RetryOrFailAsync(task, attemptToken, error, writes);

            // Wrapped so that Hangfire marks the job failed without retrying it, whatever the handler threw.
            throw new AttemptFailedException($"Attempt {task.Attempt} of task {taskId} failed: {error}", exception);
        }
    }

    private async Task RetryOrFailAsync(TaskRecord task, Guid attemptToken, string error, CancellationToken cancellationToken)
    {
        if (task.Attempt >= task.MaxAttempts)
        {
            var failed = await store.ApplyAsync(new FailAttempt(task.Id, attemptToken, error), cancellationToken);
            if (failed.Applied)
            {
                metrics.Failed(task.Type);
                LogFailed(task.Id, task.Attempt, error);
            }

            return;
        }

        var nextToken = Guid.NewGuid();
        var retried = await store.ApplyAsync(new RetryAttempt(task.Id, attemptToken, error, nextToken), cancellationToken);
        if (!retried.Applied)
        {
            LogAttemptSuperseded(task.Id, retried.Outcome, retried.Task?.Status);
            return;
        }

        var delay = options.Value.RetryDelay(task.Attempt + 1, Random.Shared.NextDouble());
        var jobId = scheduler.Schedule(task.Id, nextToken, task.TraceParent, delay);
        await store.AttachJobAsync(task.Id, nextToken, jobId, cancellationToken);
        metrics.Retried(task.Type);
        LogRetryScheduled(task.Id, task.Attempt + 1, delay, error);
    }

    private static string Describe(Exception exception) =>
        exception is TaskHandlerException ? exception.Message : $"{exception.GetType().Name}: {exception.Message}";

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Task {TaskId}: the database was out of reach during its attempt; the job will be retried")]
    private partial void LogStoreUnavailable(Exception exception, Guid taskId);

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Attempt of task {TaskId} dropped: {Outcome} (task is {Status})")]
    private partial void LogAttemptSuperseded(Guid taskId, TransitionOutcome outcome, TaskState? status);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Task {TaskId} attempt {Attempt} scheduled in {Delay}: {Error}")]
    private partial void LogRetryScheduled(Guid taskId, int attempt, TimeSpan delay, string error);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Attempt of task {TaskId} was cancelled (attempt {Attempt})")]
    private partial void LogAttemptCancelled(Guid taskId, int attempt);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Task {TaskId} failed after attempt {Attempt}: {Error}")]
    private partial void LogFailed(Guid taskId, int attempt, string error);
}
