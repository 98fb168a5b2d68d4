namespace TaskServer.Health;

/// <summary>Whether this gateway is the primary, and who is if it is not. Provided by the failover agent.</summary>
public interface IPrimaryStatus
{
    PrimaryView Current { get; }
}

/// <param name="Epoch">The epoch this node holds when primary, else the latest it has seen.</param>
public sealed record PrimaryView(bool IsPrimary, long? Epoch, string? PrimaryId, string? PrimaryUrl);
