using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TaskServer.Failover.Leadership;
using TaskServer.Failover.Tests.Fakes;

namespace TaskServer.Failover.Tests.Leadership;

public sealed class PrimaryProbeTests : IDisposable
{
    private readonly StubPrimary primary = new();
    private readonly FakeTimeProvider clock = new();

    public void Dispose() => primary.Dispose();

    [Fact]
    public async Task A_primary_answering_200_is_the_primary_and_is_asked_at_health_primary_which_reads_no_database()
    {
        Assert.Equal(ProbeOutcome.Primary, await Probe().ProbeAsync("http://a:5000", TestContext.Current.CancellationToken));

        Assert.Equal([new Uri("http://a:5000/health/primary")], primary.Requests);
    }

    [Fact]
    public async Task A_node_answering_503_is_alive_but_not_the_primary()
    {
        primary.Next = StubPrimary.Answer.NotReady;

        Assert.Equal(ProbeOutcome.NotPrimary, await Probe().ProbeAsync("http://a:5000", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_refused_connection_is_unreachable()
    {
        primary.Next = StubPrimary.Answer.Unreachable;

        Assert.Equal(ProbeOutcome.Unreachable, await Probe().ProbeAsync("http://a:5000", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_malformed_primary_url_is_unreachable_not_an_exception()
    {
        Assert.Equal(ProbeOutcome.Unreachable, await Probe().ProbeAsync("not a url", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_primary_that_does_not_answer_within_ProbeTimeout_gave_no_answer()
    {
        primary.Next = StubPrimary.Answer.Silent;
        var probe = Probe().ProbeAsync("http://a:5000", TestContext.Current.CancellationToken);
        await primary.SilentRequests.ReadAsync(TestContext.Current.CancellationToken);

        clock.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(probe.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(ProbeOutcome.NoAnswer, await probe.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    /// <summary>A real socket: the connection is refused by the kernel, as it is the moment a killed process's port closes.</summary>
    [Fact]
    public async Task A_closed_port_is_unreachable_at_once()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var http = new RealHttp();
        var probe = new PrimaryProbe(http, Options.Create(new FailoverOptions { ProbeTimeout = TimeSpan.FromSeconds(30) }), clock);

        var outcome = await probe.ProbeAsync($"http://127.0.0.1:{port}", TestContext.Current.CancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal(ProbeOutcome.Unreachable, outcome);
    }

    private PrimaryProbe Probe() => new(primary, Options.Create(new FailoverOptions { ProbeTimeout = TimeSpan.FromMilliseconds(200) }), clock);

    private sealed class RealHttp : IHttpClientFactory, IDisposable
    {
        private readonly SocketsHttpHandler handler = new();

        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false);

        public void Dispose() => handler.Dispose();
    }
}
