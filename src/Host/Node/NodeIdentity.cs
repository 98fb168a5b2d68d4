using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Node;

/// <summary>
/// Who this process is in the registry. Every process start is a new node: a restarted worker must
/// not inherit the tasks its previous life had running (they died with it), so the id carries a
/// per-process suffix and the old id simply stops heartbeating and is swept like any dead worker.
/// The Hangfire queue is derived from the id, so each worker only fetches its own tasks.
/// </summary>
public sealed class NodeIdentity
{
    public NodeIdentity(IOptions<NodeOptions> options)
    {
        var node = options.Value;
        Role = node.Role;
        Url = node.Url.TrimEnd('/');
        InternalUrl = (node.InternalUrl ?? node.Url).TrimEnd('/');
        Id = $"{node.Name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        Queue = QueueOf(Id);
    }

    public string Id { get; }

    public NodeRole Role { get; }

    /// <summary>How clients (and backups probing a primary) reach this node.</summary>
    public string Url { get; }

    /// <summary>How gateways reach this node's worker intake: what the registry records.</summary>
    public string InternalUrl { get; }

    public string Queue { get; }

    /// <summary>The Hangfire queue of a node (names allow lower-case letters, digits and underscores only).</summary>
    public static string QueueOf(string nodeId) => nodeId.Replace('-', '_');
}
