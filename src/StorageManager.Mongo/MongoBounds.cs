using MongoDB.Driver;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// How long each kind of call may take before it fails as unavailable (<see cref="TimeoutException"/>). The driver's
/// client-side operation timeout (<c>timeoutMS</c>) is not public in MongoDB.Driver 3.14, so every call runs under a
/// deadline of its own (<see cref="RunAsync{T}"/>); majority writes also carry it as <c>wtimeout</c>, so the server
/// stops waiting for secondaries when the caller has.
/// </summary>
internal sealed record MongoBounds
{
    public static MongoBounds Default { get; } = new();

    /// <summary>Task store, registry and failover log calls (Npgsql bounds a command at 30 s).</summary>
    public TimeSpan Call { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Lease calls: DESIGN's lease TTL, beyond which a renewal cannot help. A lost majority, or a lease document locked
    /// by a transaction its holder abandoned, then fails the call instead of stalling the failover agent.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A fenced write's whole transaction, its retries on write conflicts included.</summary>
    public TimeSpan Transaction { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Majority, acknowledged within <paramref name="bound"/> or reported as a write concern error.</summary>
    public static WriteConcern Majority(TimeSpan bound) => WriteConcern.WMajority.With(wTimeout: bound);

    /// <summary>Runs one call under a deadline; a call still running at the deadline is cancelled and reported as a timeout.</summary>
    public static async Task<T> RunAsync<T>(TimeSpan bound, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(bound);
        try
        {
            return await call(deadline.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"MongoDB did not answer within {bound.TotalMilliseconds:0} ms.", e);
        }
    }

    public static Task RunAsync(TimeSpan bound, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        RunAsync(
            bound,
            async token =>
            {
                await call(token);
                return true;
            },
            cancellationToken);
}
