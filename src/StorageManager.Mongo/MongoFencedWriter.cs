using MongoDB.Driver;
using TaskServer.StorageManager.Leases;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// Runs a primary-only write in one multi-document transaction with a write to the lease that proves the fence.
/// Transactions need a replica set, which is how production MongoDB runs (see DESIGN.md, Storage providers).
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
        using var session = await collections.Client.StartSessionAsync(cancellationToken: cancellationToken);
        // WithTransactionAsync runs the callback again when the transaction meets a write conflict, for example
        // with a concurrent acquisition of the lease; the retry then sees the new epoch and reports it fenced.
        return await session.WithTransactionAsync(
            async (transaction, token) =>
            {
                var touched = await collections.Leases.UpdateOneAsync(
                    transaction,
                    MongoLeaseCommands.HeldFilter(fence),
                    MongoCommands.Update(MongoLeaseCommands.FenceTouch()),
                    cancellationToken: token);
                if (touched.MatchedCount == 0)
                {
                    await transaction.AbortTransactionAsync(token);
                    return fenced;
                }

                return await write(transaction, token);
            },
            cancellationToken: cancellationToken);
    }
}
