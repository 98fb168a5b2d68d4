using Polly;
using Polly.Retry;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Execution;

/// <summary>
/// Writes attempts' outcomes (complete, fail, retry) in sets: one statement for whatever finished while the previous
/// set was being written, each row still conditioned on its attempt token. While the database is out of reach the set
/// is retried until it lands or the host has stopped; a process that dies first leaves its tasks Running under a
/// worker whose heartbeat stops, and the primary requeues them.
/// </summary>
public sealed class AttemptOutcomes : IAsyncDisposable
{
    private const int MaxSetSize = 512;

    private readonly GroupCommit<TaskTransition, TransitionOutcome> commits;

    public AttemptOutcomes(ITaskStore store, StorageErrors storageErrors, TimeProvider timeProvider, IHostApplicationLifetime lifetime)
    {
        var untilReachable = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(storageErrors.IsUnavailable),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(5),
                UseJitter = true,
            })
            .Build();
        commits = new GroupCommit<TaskTransition, TransitionOutcome>(
            (set, cancellationToken) => untilReachable.ExecuteAsync(
                static async (state, token) => await state.store.ApplyOutcomesAsync(state.set, token),
                (store, set),
                cancellationToken).AsTask(),
            MaxSetSize,
            lifetime.ApplicationStopped);
    }

    public Task<TransitionOutcome> WriteAsync(TaskTransition outcome) => commits.WriteAsync(outcome);

    public ValueTask DisposeAsync() => commits.DisposeAsync();
}
