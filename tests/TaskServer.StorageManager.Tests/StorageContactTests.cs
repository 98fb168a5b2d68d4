using Microsoft.Extensions.Time.Testing;

namespace TaskServer.StorageManager.Tests;

public sealed class StorageContactTests
{
    [Fact]
    public void A_round_trip_is_evidence_only_within_its_window()
    {
        var clock = new FakeTimeProvider();
        var contact = new StorageContact(clock);

        Assert.False(contact.SucceededWithin(TimeSpan.FromSeconds(1.5)));
        contact.Succeeded();
        clock.Advance(TimeSpan.FromSeconds(1.4));
        Assert.True(contact.SucceededWithin(TimeSpan.FromSeconds(1.5)));
        clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.False(contact.SucceededWithin(TimeSpan.FromSeconds(1.5)));
    }
}
