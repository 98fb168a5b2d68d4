namespace TaskServer.StorageManager;

/// <summary>Creates or migrates the provider's schema and indexes. Safe to run from many nodes at once.</summary>
public interface IStorageInitializer
{
    Task InitializeAsync(CancellationToken cancellationToken);
}
