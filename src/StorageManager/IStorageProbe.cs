namespace TaskServer.StorageManager;

/// <summary>One cheap round trip to the database: readiness checks ask it whether the node can reach its store.</summary>
public interface IStorageProbe
{
    Task PingAsync(CancellationToken cancellationToken);
}
