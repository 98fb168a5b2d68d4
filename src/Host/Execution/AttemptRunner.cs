using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TaskServer.Host.Node;
using TaskServer.Host.Quarantine;
using TaskServer.Host.Telemetry;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Execution;

/// <summary>
/// Runs one claimed attempt: its handler, then its outcome (complete, retry after a backoff, or fail) through the set
/// writer. Every outcome carries the attempt token: if the task was cancelled or requeued meanwhile, the write misses
/// and the outcome is dropped. A result the handler can verify (<see cref="IVerifiesResults"/>) is verified first: one that
/// fails is a failed attempt, counted toward this worker's quarantine and retried on another worker.
/// </summary>
public sealed partial class AttemptRunner(
    TaskHandlers handlers,
    AttemptOutcomes outcomes,
    TaskArrivals arrivals,
    ResultQuarantine quarantine,
    RetryTargets retryTargets,
    NodeIdentity node,
    IOptions<ExecutionOptions> options,
    TaskMetrics metrics,
    TaskTracing tracing,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<AttemptRunner> logger)
{
    /// <summary>The local wake-up for a retry comes a little after its due time by the database clock.</summary>
    private static readonly TimeSpan PastDue = TimeSpan.FromMilliseconds(50);

    /// <summary>Runs the attempt and writes its outcome; false when an outcome could not be written (the drain's job then fails).</summary>
    public async Task<bool> RunAsync(TaskRecord task, RunningAttempt attempt)
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

        var outcome = await ExecuteAsync(task, attempt);
        if (outcome is null)
        {
            return true;
        }

        TransitionOutcome written;
        try
        {
            written = await outcomes.WriteAsync(outcome);
        }
        catch (Exception exception)
        {
            LogOutcomeLost(exception, task.Id, task.Attempt);
            return false;
        }

        if (written != TransitionOutcome.Applied)
        {
            LogAttemptSuperseded(task.Id, task.Attempt);
            return true;
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

        return true;
    }

    private async Task<TaskTransition?> ExecuteAsync(TaskRecord task, RunningAttempt attempt)
    {
        var handler = handlers.Find(task.Type);
        if (handler is null)
        {
            return new FailAttempt(task.Id, task.AttemptToken, $"no handler for task type '{task.Type}' on {node.Id}");
        }

        var startedAt = timeProvider.GetTimestamp();
        try
        {
            using var payload = JsonDocument.Parse(task.Payload);
            var context = new TaskExecutionContext(task.Id, task.Attempt, task.MaxAttempts, payload.RootElement);

            // Off the drain's loop: a handler may compute for a while before its first await.
            var result = await Task.Run(() => handler.ExecuteAsync(context, attempt.Stop.Token), attempt.Stop.Token);
            if (handler is IVerifiesResults verifier && verifier.Verify(payload.RootElement, result) is { } wrong)
            {
                metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "incorrect");
                return await IncorrectAsync(task, wrong);
            }

            metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "succeeded");
            return new CompleteAttempt(task.Id, task.AttemptToken, result?.ToJsonString() ?? "null");
        }
        catch (OperationCanceledException) when (attempt.Stop.IsCancellationRequested)
        {
            if (attempt.Superseded)
            {
                // Cancelled by a client, or requeued elsewhere: the store already says how this attempt ended.
                LogAttemptCancelled(task.Id, task.Attempt);
                return null;
            }

            if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                // The task stays Running under this node, whose heartbeat stops: the primary requeues it.
                return null;
            }

            return RetryOrFail(task, "the run was interrupted: the job running it was stopped");
        }
        catch (Exception exception)
        {
            metrics.AttemptRan(task.Type, timeProvider.GetElapsedTime(startedAt), "failed");
            var error = exception is TaskHandlerException ? exception.Message : $"{exception.GetType().Name}: {exception.Message}";
            Activity.Current?.SetStatus(ActivityStatusCode.Error, error);
            return RetryOrFail(task, error);
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
        if (quarantine.RecordFailure())
        {
            LogQuarantined();
        }

        if (task.Attempt >= task.MaxAttempts)
        {
            return new FailAttempt(task.Id, task.AttemptToken, error);
        }

        var target = await retryTargets.PickAsync(lifetime.ApplicationStopping);
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

    [LoggerMessage(EventId = 104, Level = LogLevel.Error, Message = "The outcome of task {TaskId} attempt {Attempt} could not be written")]
    private partial void LogOutcomeLost(Exception exception, Guid taskId, int attempt);
}
