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

    /// <summary>
    /// In one fenced transaction: a look for one active task the node owns, then the delete conditioned on its
    /// staleness (by the server's clock), then the lease touch. PostgreSQL judges both conditions in its DELETE; a
    /// MongoDB delete cannot read the tasks, so here they are judged on the transaction's snapshot. Every fenced write
    /// touches the lease, so a rescue that hands the node a task is serialised with this: one of the two conflicts and
    /// runs again on fresh reads. The window left is a write outside the fence that gives the node a task after the
    /// snapshot and before the commit (its own intake, a retry handed to it, an executor starting an attempt under
    /// its id): it is not seen and the node is removed all the same, as a PostgreSQL DELETE does not see a write that
    /// commits after its snapshot, here for a few round trips rather than one statement. Nothing is lost by it: the
    /// task's owner is then not a live node, and the next rescue takes the task.
    /// </summary>
    public Task<EvictOutcome> EvictAsync(string nodeId, TimeSpan timeout, Fence fence, CancellationToken cancellationToken) =>
        fencedWriter.RunAsync(
            fence,
            EvictOutcome.Fenced,
            async (session, token) =>
            {
                var ownsTask = await collections.Tasks.Find(session, MongoTaskCommands.ActiveByWorkerFilter(nodeId))
                    .Project(MongoTaskCommands.IdOnly)
                    .AnyAsync(token);
                if (ownsTask)
                {
                    return EvictOutcome.NotStale;
                }

                var deleted = await Nodes.DeleteOneAsync(session, MongoNodeCommands.StaleFilter(nodeId, timeout), cancellationToken: token);
                return deleted.DeletedCount == 1 ? EvictOutcome.Evicted : EvictOutcome.NotStale;
            },
            cancellationToken);

    public Task LeaveAsync(string nodeId, CancellationToken cancellationToken) =>
        MongoBounds.RunAsync(
            collections.Bounds.Call,
            token => Nodes.DeleteOneAsync(MongoNodeCommands.ById(nodeId), token),
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
