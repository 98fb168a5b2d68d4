using System.Net;

namespace TaskServer.Failover.Tests.Fakes;

/// <summary>The primary as a probe sees it: answers 200, 503, or not at all (connection refused).</summary>
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

    public Answer Next { get; set; } = Answer.Ready;

    public List<Uri> Requests { get; } = [];

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false);

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
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
                throw new InvalidOperationException("unreachable");
            default:
                throw new HttpRequestException("Connection refused");
        }
    }
}
