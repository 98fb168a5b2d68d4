using Microsoft.Extensions.Options;
using Polly;

namespace TaskServer.Failover.Leadership;

/// <summary>One probe of the primary's /health/ready, bounded by a Polly timeout; any error or non-2xx is a failure.</summary>
internal sealed class PrimaryProbe
{
    public const string HttpClientName = "failover-probe";

    private readonly IHttpClientFactory httpClients;
    private readonly ResiliencePipeline pipeline;

    public PrimaryProbe(IHttpClientFactory httpClients, IOptions<FailoverOptions> options)
    {
        this.httpClients = httpClients;
        pipeline = new ResiliencePipelineBuilder().AddTimeout(options.Value.ProbeTimeout).Build();
    }

    public async Task<bool> IsReadyAsync(string primaryUrl, CancellationToken cancellationToken)
    {
        using var client = httpClients.CreateClient(HttpClientName);
        try
        {
            return await pipeline.ExecuteAsync(
                async token =>
                {
                    using var response = await client.GetAsync(new Uri(new Uri(primaryUrl), "/health/ready"), token);
                    return response.IsSuccessStatusCode;
                },
                cancellationToken);
        }
        catch (Exception exception) when (exception is HttpRequestException or Polly.Timeout.TimeoutRejectedException or UriFormatException)
        {
            return false;
        }
    }
}
