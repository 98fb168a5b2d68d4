using Yarp.ReverseProxy.Forwarder;

namespace TaskServer.Host.Tls;

/// <summary>YARP's client to the workers (forwarding and active health probes), trusting the cluster's CA.</summary>
internal sealed class TrustingForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger, CaTrust trust) : ForwarderHttpClientFactory(logger)
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        trust.Apply(handler.SslOptions);
    }
}
