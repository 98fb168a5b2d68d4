using MongoDB.Bson;
using MongoDB.Driver;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Mongo;

internal sealed class MongoNodeRegistry(MongoCollections collections, MongoFencedWriter fencedWriter, ITaskStore tasks) : INodeRegistry
{
    private static UpdateOptions Upsert => new() { IsUpsert = true };

    private IMongoCollection<BsonDocument> Nodes => collections.Nodes;

    public Task HeartbeatAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken) =>
        MongoBounds.RunAsync(
            collections.Bounds.Call,
            token => Nodes.UpdateOneAsync(
                MongoNodeCommands.ById(heartbeat.NodeId),
                MongoCommands.Update(MongoNodeCommands.HeartbeatUpdate(heartbeat)),
                Upsert,
                token),
            cancellationToken);

    /// <summary>Two round trips on MongoDB: the count (an aggregation) and the heartbeat (an upsert) cannot share one command.</summary>
    public async Task<ActiveCounts> HeartbeatWithLoadAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        var counts = await tasks.CountActiveByWorkerAsync(heartbeat.NodeId, cancellationToken);
        await HeartbeatAsync(heartbeat with { Load = heartbeat.Load with { Queued = counts.Queued, Running = counts.Running } }, cancellationToken);
        return counts;
    }

    public Task<IReadOnlyList<NodeRecord>> ListAsync(CancellationToken cancellationToken) =>
        AggregateAsync(MongoNodeCommands.List(), cancellationToken);

    public Task<IReadOnlyList<NodeRecord>> ListLiveAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        AggregateAsync(MongoNodeCommands.ListLive(timeout), cancellationToken);

    public Task<EvictOutcome> EvictAsync(string nodeId, TimeSpan timeout, Fence fence, CancellationToken cancellationToken) =>
        fencedWriter.RunAsync(
            fence,
            EvictOutcome.Fenced,
            async (session, token) =>
            {
                var deleted = await Nodes.DeleteOneAsync(session, MongoNodeCommands.StaleFilter(nodeId, timeout), cancellationToken: token);
                return deleted.DeletedCount == 1 ? EvictOutcome.Evicted : EvictOutcome.NotStale;
            },
            cancellationToken);

    private async Task<IReadOnlyList<NodeRecord>> AggregateAsync(BsonDocument[] stages, CancellationToken cancellationToken)
    {
        var documents = await MongoBounds.RunAsync(
            collections.Bounds.Call,
            async token =>
            {
                using var cursor = await Nodes.AggregateAsync(MongoCommands.Pipeline(stages), cancellationToken: token);
                return await cursor.ToListAsync(token);
            },
            cancellationToken);
        return documents.ConvertAll(MongoNodeCommands.ToNode);
    }
}
