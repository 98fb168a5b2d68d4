namespace TaskServer.StorageManager.Tests.Contract;

/// <summary>What every provider's <see cref="IStorageProbe"/> must do.</summary>
public abstract class StorageProbeContract(StorageFixture fixture)
{
    [Fact]
    public async Task The_probe_answers_when_the_database_is_reachable()
    {
        await fixture.Probe.PingAsync(CancellationToken.None);
    }
}
