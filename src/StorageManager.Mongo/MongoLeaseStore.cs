using Microsoft.Extensions.Logging;
using MongoDB.Bson;
using MongoDB.Driver;
using TaskServer.StorageManager.Leases;

namespace TaskServer.StorageManager.Mongo;

/// <summary>
/// Leases on MongoDB, with the holder's connections as evidence of life. Every holder acquires and renews through its
/// own <see cref="MongoLeaseClient"/>, whose name the lease document records. A contender takes the lease when it has
/// expired, or earlier when the primary reports no connection of that name: a killed holder's sockets close with its
/// process and the server ends those connections at once, so a successor need not wait out the TTL. A holder that is
/// in fact alive keeps its connections open; one that lost them all (a partition) cannot renew past a new epoch, and
/// every fenced write it attempts is refused by the epoch.
/// </summary>
internal sealed partial class MongoLeaseStore(MongoLeaseClient leaseClient, ILogger<MongoLeaseStore> logger) : ILeaseStore
{
    private const int UnauthorizedCode = 13;

    private IMongoCollection<BsonDocument> Leases => leaseClient.Leases;

    public async Task<LeaseResult> TryAcquireAsync(string name, string holder, string holderUrl, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var tenure = Guid.NewGuid();
        BsonDocument current;
        try
        {
            current = await MongoBounds.RunAsync(
                leaseClient.Bound,
                token => Leases.FindOneAndUpdateAsync(
                    MongoLeaseCommands.AcquireFilter(name),
                    MongoCommands.Update(MongoLeaseCommands.AcquireUpdate(holder, holderUrl, leaseClient.AppName, tenure, ttl)),
                    new FindOneAndUpdateOptions<BsonDocument> { IsUpsert = true, ReturnDocument = ReturnDocument.After },
                    token),
                cancellationToken);
        }
        catch (MongoException e) when (MongoCommands.IsDuplicateKey(e))
        {
            // A concurrent contender inserted the lease first and the server did not retry the upsert itself (servers
            // before 4.2): that contender holds it now.
            return LeaseResult.Failed;
        }

        if (MongoLeaseCommands.TenureOf(current) == tenure)
        {
            return new LeaseResult(true, MongoLeaseCommands.ToLease(current));
        }

        return await TakeOverFromGoneHolderAsync(current, holder, holderUrl, ttl, cancellationToken);
    }

    public async Task<LeaseResult> TryRenewAsync(Fence fence, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var renewed = await MongoBounds.RunAsync(
            leaseClient.Bound,
            token => Leases.FindOneAndUpdateAsync(
                MongoLeaseCommands.HeldFilter(fence),
                MongoCommands.Update(MongoLeaseCommands.RenewUpdate(ttl)),
                new FindOneAndUpdateOptions<BsonDocument> { ReturnDocument = ReturnDocument.After },
                token),
            cancellationToken);
        return renewed is null ? LeaseResult.Failed : new LeaseResult(true, MongoLeaseCommands.ToLease(renewed));
    }

    public async Task<bool> ReleaseAsync(Fence fence, CancellationToken cancellationToken)
    {
        var released = await MongoBounds.RunAsync(
            leaseClient.Bound,
            token => Leases.UpdateOneAsync(MongoLeaseCommands.HeldFilter(fence), MongoCommands.Update(MongoLeaseCommands.ReleaseUpdate()), cancellationToken: token),
            cancellationToken);
        return released.MatchedCount == 1;
    }

    public async Task<Lease?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var document = await MongoBounds.RunAsync(
            leaseClient.Bound,
            async token =>
            {
                using var cursor = await Leases.AggregateAsync(MongoCommands.Pipeline(MongoLeaseCommands.Read(name)), cancellationToken: token);
                return await cursor.FirstOrDefaultAsync(token);
            },
            cancellationToken);
        return document is null ? null : MongoLeaseCommands.ToLease(document);
    }

    /// <summary>
    /// The lease is held and unexpired. When the primary has no connection of its holder's lease client, the holder is
    /// gone, and the lease is taken in a compare-and-set on the tenure found: of two contenders, one wins.
    /// </summary>
    private async Task<LeaseResult> TakeOverFromGoneHolderAsync(BsonDocument held, string holder, string holderUrl, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (MongoLeaseCommands.HolderAppOf(held) is not { } holderApp
            || MongoLeaseCommands.TenureOf(held) is not { } heldTenure
            || !await IsGoneAsync(holderApp, cancellationToken))
        {
            return LeaseResult.Failed;
        }

        var tenure = Guid.NewGuid();
        var taken = await MongoBounds.RunAsync(
            leaseClient.Bound,
            token => Leases.FindOneAndUpdateAsync(
                MongoLeaseCommands.TakeOverFilter(held["_id"].AsString, held[MongoLeaseCommands.Epoch].ToInt64(), heldTenure),
                MongoCommands.Update(MongoLeaseCommands.TakeOverUpdate(holder, holderUrl, leaseClient.AppName, tenure, ttl)),
                new FindOneAndUpdateOptions<BsonDocument> { ReturnDocument = ReturnDocument.After },
                token),
            cancellationToken);
        if (taken is null)
        {
            return LeaseResult.Failed;
        }

        LogTakenFromGoneHolder(held[MongoLeaseCommands.Holder].AsString, taken[MongoLeaseCommands.Epoch].ToInt64());
        return new LeaseResult(true, MongoLeaseCommands.ToLease(taken));
    }

    private async Task<bool> IsGoneAsync(string holderApp, CancellationToken cancellationToken)
    {
        if (holderApp == leaseClient.AppName)
        {
            return false;
        }

        try
        {
            var connection = await MongoBounds.RunAsync(
                leaseClient.Bound,
                async token =>
                {
                    using var cursor = await leaseClient.Admin.AggregateAsync(
                        PipelineDefinition<NoPipelineInput, BsonDocument>.Create(MongoLeaseCommands.HolderConnections(holderApp)),
                        cancellationToken: token);
                    return await cursor.FirstOrDefaultAsync(token);
                },
                cancellationToken);
            return connection is null;
        }
        catch (MongoCommandException e) when (e.Code == UnauthorizedCode)
        {
            // Without the inprog privilege there is no evidence either way: the lease runs to its expiry.
            LogNoConnectionEvidence(e.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = 420, Level = LogLevel.Warning, Message = "Took the lease from {Holder}, whose connections are gone, at epoch {Epoch} before it expired")]
    private partial void LogTakenFromGoneHolder(string holder, long epoch);

    [LoggerMessage(EventId = 421, Level = LogLevel.Warning, Message = "Cannot see the lease holder's connections ({Reason}); a crashed holder's lease runs to its expiry. Grant the role clusterMonitor for an early takeover")]
    private partial void LogNoConnectionEvidence(string reason);
}
