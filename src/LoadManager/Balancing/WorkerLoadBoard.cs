using System.Collections.Concurrent;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.LoadManager.Balancing;

/// <summary>
/// Each live worker's load as its last heartbeat reported it, plus what this gateway has sent it since:
/// heartbeats are a second old, and without the correction a burst would all land on the worker that
/// looked idlest at the last heartbeat.
/// </summary>
public sealed class WorkerLoadBoard
{
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);

    /// <summary>Queued + running + sent since the heartbeat, per unit of capacity; 0 for a worker not heard of yet.</summary>
    public double Backlog(string workerId) => entries.TryGetValue(workerId, out var entry) ? entry.Backlog : 0;

    public IReadOnlyDictionary<string, NodeLoad> Loads => entries.ToDictionary(e => e.Key, e => e.Value.Load, StringComparer.Ordinal);

    internal void Update(IEnumerable<NodeRecord> liveWorkers)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in liveWorkers)
        {
            seen.Add(node.NodeId);
            entries.AddOrUpdate(
                node.NodeId,
                _ => new Entry(node.Load, node.LastSeen),
                (_, existing) => existing.LastSeen == node.LastSeen ? existing : new Entry(node.Load, node.LastSeen));
        }

        foreach (var gone in entries.Keys.Where(id => !seen.Contains(id)))
        {
            entries.TryRemove(gone, out _);
        }
    }

    internal void RecordSent(string workerId)
    {
        if (entries.TryGetValue(workerId, out var entry))
        {
            Interlocked.Increment(ref entry.SentSinceHeartbeat);
        }
    }

    private sealed class Entry(NodeLoad load, DateTimeOffset lastSeen)
    {
        public int SentSinceHeartbeat;

        public NodeLoad Load { get; } = load;

        public DateTimeOffset LastSeen { get; } = lastSeen;

        public double Backlog => (Load.Queued + Load.Running + Volatile.Read(ref SentSinceHeartbeat)) / (double)Math.Max(1, Load.Capacity);
    }
}
