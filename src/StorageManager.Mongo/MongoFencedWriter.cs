using MongoDB.Driver;
using TaskServer.StorageManager.Leases;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// Runs a primary-only write in one multi-document transaction with a write to the lease that proves the fence.
/// Transactions need a replica set, which the initializer checks (see DESIGN.md, Storage providers).
/// </summary>
internal sealed class MongoFencedWriter(MongoCollections collections)
{
    /// <returns><paramref name="fenced"/> when the fence no longer holds (nothing is written), else what <paramref name="write"/> returns.</returns>
    public async Task<TResult> RunAsync<TResult>(
        Fence fence,
        TResult fenced,
        Func<IClientSessionHandle, CancellationToken, Task<TResult>> write,
        CancellationToken cancellationToken)
    {
        var bound = collections.Bounds.Transaction;
        using var session = await collections.Client.StartSessionAsync(cancellationToken: cancellationToken);
        // The lease is touched last, just before the commit: the touch write-locks the lease document until the
        // transaction ends, and a holder killed with it open leaves that lock to the server's transaction reaper
        // (transactionLifetimeLimitSeconds). Touched last, the lock spans one round trip (the commit), not the
        // whole write. WithTransactionAsync runs the callback again on a write conflict, for example with a
        // concurrent acquisition; the retry then sees the new epoch and reports the write fenced.
        return await MongoBounds.RunAsync(bound, deadline => session.WithTransactionAsync(
            async (transaction, token) =>
            {
                var result = await write(transaction, token);
                var touched = await collections.Leases.UpdateOneAsync(
                    transaction,
                    MongoLeaseCommands.HeldFilter(fence),
                    MongoCommands.Update(MongoLeaseCommands.FenceTouch()),
                    cancellationToken: token);
                // Modified, not matched: a touch that changed nothing would take no lock and fence nothing.
                if (touched.ModifiedCount != 1)
                {
                    await transaction.AbortTransactionAsync(token);
                    return fenced;
                }

                return result;
            },
            Options(bound),
            deadline), cancellationToken);
    }

    /// <summary>
    /// Read concern snapshot: every read of the transaction (a rescue's nodes and candidates, an eviction's look for
    /// tasks) comes from one point in time, on a sharded cluster as on a replica set, whatever read concern the
    /// connection string sets; with the majority commit, that is majority-committed data. The write concern is the
    /// transaction's, at the commit: the driver sends none with the operations inside it, as the server requires.
    /// </summary>
    internal static TransactionOptions Options(TimeSpan bound) => new(
        readConcern: ReadConcern.Snapshot,
        readPreference: ReadPreference.Primary,
        writeConcern: MongoBounds.Majority(bound),
        maxCommitTime: bound);
}
