using TaskServer.StorageManager.Failovers;

namespace TaskServer.StorageManager.Tests.Contract;

/// <summary>What every provider's <see cref="IFailoverLog"/> must do.</summary>
public abstract class FailoverLogContract(StorageFixture fixture)
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task Failovers_are_listed_newest_first_with_every_field()
    {
        var lease = $"lease-{Guid.NewGuid():N}";
        var start = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        var first = new FailoverEvent(Guid.NewGuid(), lease, null, "gateway-a", 1, null, null, start);
        var second = new FailoverEvent(Guid.NewGuid(), lease, "gateway-a", "gateway-b", 2, start.AddSeconds(10), start.AddMilliseconds(10_750), start.AddMilliseconds(11_100));

        await fixture.Failovers.RecordAsync(first, Ct);
        await fixture.Failovers.RecordAsync(second, Ct);
        await fixture.Failovers.RecordAsync(first with { Id = Guid.NewGuid(), LeaseName = "other-" + lease }, Ct);

        var listed = await fixture.Failovers.ListAsync(lease, 10, Ct);

        Assert.Equal([second, first], listed);
        Assert.Equal(TimeSpan.FromMilliseconds(750), listed[0].TimeToDetect);
        Assert.Equal(TimeSpan.FromMilliseconds(1100), listed[0].TimeToPromote);
        Assert.Single(await fixture.Failovers.ListAsync(lease, 1, Ct));
    }
}
