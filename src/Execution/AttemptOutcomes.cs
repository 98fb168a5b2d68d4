using Microsoft.Extensions.Hosting;
using Polly;
using Polly.Retry;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Execution;

/// <summary>
/// Writes attempts' outcomes (complete, fail, retry) in sets: one statement for whatever finished while the previous
/// set was being written, each row still conditioned on its attempt token. While the database is out of reach a set is
/// retried a few times over about <see cref="RetryBudget"/>, then failed: the drain keeps the outcomes it could not
/// write and writes them again at its next orphan check, so one set that cannot land never holds back the rest. A set
/// that fails with a data error is split and each outcome written alone.
/// </summary>
public sealed class AttemptOutcomes : IAsyncDisposable
{
    /// <summary>Roughly how long a set is retried while the database is out of reach (5 retries, backoff doubling from 200 ms).</summary>
    public static readonly TimeSpan RetryBudget = TimeSpan.FromSeconds(6);

    private const int MaxSetSize = 512;

    private readonly GroupCommit<TaskTransition, TransitionOutcome> commits;

    public AttemptOutcomes(ITaskStore store, StorageErrors storageErrors, TimeProvider timeProvider, IHostApplicationLifetime lifetime)
    {
        var whileReachableSoon = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(storageErrors.IsUnavailable),
                MaxRetryAttempts = 5,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(3),
                UseJitter = true,
            })
            .Build();
        commits = new GroupCommit<TaskTransition, TransitionOutcome>(
            (set, cancellationToken) => whileReachableSoon.ExecuteAsync(
                static async (state, token) => await state.store.ApplyOutcomesAsync(state.set, token),
                (store, set),
                cancellationToken).AsTask(),
            exception => !storageErrors.IsUnavailable(exception),
            MaxSetSize,
            maxWaiting: 16 * MaxSetSize,
            lifetime.ApplicationStopped);
    }

    public Task<TransitionOutcome> WriteAsync(TaskTransition outcome) => commits.WriteAsync(outcome);

    public ValueTask DisposeAsync() => commits.DisposeAsync();
}
