using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

namespace TaskServer.Failover.Leadership;

/// <summary>What one probe of the primary found, and how much it weighs against it.</summary>
internal enum ProbeOutcome
{
    /// <summary>It answered within ProbeTimeout that it is the primary.</summary>
    Primary,

    /// <summary>
    /// Hard evidence: it answered, but not as the primary (it stepped down, or a restarted process now listens at
    /// that URL and holds nothing).
    /// </summary>
    NotPrimary,

    /// <summary>
    /// Hard evidence: nothing listens there (connection refused), the connection broke (reset, the answer cut off),
    /// or the URL cannot be reached at all. A crashed process shows up like this at once.
    /// </summary>
    Unreachable,

    /// <summary>Soft evidence: no answer within ProbeTimeout. A paused process looks like this, but so does a live one on a busy machine.</summary>
    NoAnswer,
}

/// <summary>
/// One probe of the holder's <c>/health/primary</c>, bounded by a Polly timeout. That endpoint is answered from
/// memory (the holder's own agent knows whether it holds the lease), so a probe measures whether the process is
/// alive and acting as primary, never how long the holder waits for a pooled database connection.
/// </summary>
internal sealed class PrimaryProbe
{
    public const string HttpClientName = "failover-probe";

    public const string Path = "/health/primary";

    private readonly IHttpClientFactory httpClients;
    private readonly ResiliencePipeline pipeline;

    public PrimaryProbe(IHttpClientFactory httpClients, IOptions<FailoverOptions> options, TimeProvider timeProvider)
    {
        this.httpClients = httpClients;
        pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }.AddTimeout(options.Value.ProbeTimeout).Build();
    }

    public async Task<ProbeOutcome> ProbeAsync(string primaryUrl, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(primaryUrl, UriKind.Absolute, out var baseUri))
        {
            return ProbeOutcome.Unreachable;
        }

        using var client = httpClients.CreateClient(HttpClientName);
        try
        {
            return await pipeline.ExecuteAsync(
                async token =>
                {
                    using var response = await client.GetAsync(new Uri(baseUri, Path), HttpCompletionOption.ResponseHeadersRead, token);
                    return response.IsSuccessStatusCode ? ProbeOutcome.Primary : ProbeOutcome.NotPrimary;
                },
                cancellationToken);
        }
        catch (TimeoutRejectedException)
        {
            return ProbeOutcome.NoAnswer;
        }
        catch (HttpRequestException exception)
        {
            // A connect that timed out inside the handler is silence, not a refusal; everything else the transport
            // reports (refused, reset, no route, the answer cut off) means no live process is behind that port.
            return exception.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut } or TimeoutException
                ? ProbeOutcome.NoAnswer
                : ProbeOutcome.Unreachable;
        }
    }
}
