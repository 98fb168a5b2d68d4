using System.Net;
using System.Threading.Channels;

namespace TaskServer.Failover.Tests.Fakes;

/// <summary>The primary as a probe sees it: answers 200 or 503, refuses the connection, or never answers.</summary>
public sealed class StubPrimary : HttpMessageHandler, IHttpClientFactory
{
    public enum Answer
    {
        Ready,
        NotReady,
        Unreachable,

        /// <summary>Accepts the connection and never answers.</summary>
        Silent,
    }

    private readonly Channel<Uri> silentRequests = Channel.CreateUnbounded<Uri>();

    public Answer Next { get; set; } = Answer.Ready;

    public List<Uri> Requests { get; } = [];

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false);

    /// <summary>The requests that were left waiting for an answer that will not come (<see cref="Answer.Silent"/>).</summary>
    public ChannelReader<Uri> SilentRequests => silentRequests.Reader;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Add(request.RequestUri!);
        switch (Next)
        {
            case Answer.Ready:
                return new HttpResponseMessage(HttpStatusCode.OK);
            case Answer.NotReady:
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            case Answer.Silent:
                silentRequests.Writer.TryWrite(request.RequestUri!);
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
                throw new InvalidOperationException("unreachable");
            default:
                throw new HttpRequestException("Connection refused");
        }
    }
}
