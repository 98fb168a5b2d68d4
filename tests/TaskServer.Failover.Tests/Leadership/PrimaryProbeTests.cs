using Microsoft.Extensions.Options;
using TaskServer.Failover.Leadership;
using TaskServer.Failover.Tests.Fakes;

namespace TaskServer.Failover.Tests.Leadership;

public sealed class PrimaryProbeTests : IDisposable
{
    private readonly StubPrimary primary = new();

    public void Dispose() => primary.Dispose();

    [Fact]
    public async Task A_primary_answering_200_is_ready_and_is_asked_at_health_ready()
    {
        Assert.True(await Probe().IsReadyAsync("http://a:5000", TestContext.Current.CancellationToken));

        Assert.Equal([new Uri("http://a:5000/health/ready")], primary.Requests);
    }

    [Theory]
    [InlineData(StubPrimary.Answer.NotReady)]
    [InlineData(StubPrimary.Answer.Unreachable)]
    public async Task A_primary_answering_503_or_refusing_the_connection_is_not_ready(StubPrimary.Answer answer)
    {
        primary.Next = answer;

        Assert.False(await Probe().IsReadyAsync("http://a:5000", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_malformed_primary_url_is_a_failed_probe_not_an_exception()
    {
        Assert.False(await Probe().IsReadyAsync("not a url", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_primary_that_does_not_answer_within_ProbeTimeout_is_not_ready()
    {
        primary.Next = StubPrimary.Answer.Silent;

        // The one real wait in this project: Polly's timeout runs on the system clock, here 10 ms.
        var ready = await Probe(TimeSpan.FromMilliseconds(10)).IsReadyAsync("http://a:5000", TestContext.Current.CancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.False(ready);
    }

    private PrimaryProbe Probe(TimeSpan? timeout = null) =>
        new(primary, Options.Create(new FailoverOptions { ProbeTimeout = timeout ?? TimeSpan.FromSeconds(5) }));
}
