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

    [Fact]
    public void A_failed_round_trip_is_remembered_apart_from_the_successes()
    {
        var clock = new FakeTimeProvider();
        var contact = new StorageContact(clock);

        Assert.False(contact.FailedWithin(TimeSpan.FromSeconds(30)));
        contact.Failed();
        contact.Succeeded();
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True(contact.FailedWithin(TimeSpan.FromSeconds(30)));
        Assert.False(contact.SucceededWithin(TimeSpan.FromSeconds(1.5)));
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(contact.FailedWithin(TimeSpan.FromSeconds(30)));
    }
}
