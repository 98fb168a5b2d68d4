using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace TaskServer.Client;

/// <summary>
/// Trust, besides the system's roots, certificates issued by one CA (with the right host name): what a client of a
/// cluster on a private CA needs when it builds its own handler (under a <see cref="DelegatingHandler"/>, say).
/// </summary>
public static class CaTrust
{
    public static SocketsHttpHandler CreateHandler(X509Certificate2 ca) => new SocketsHttpHandler().Trusting(ca);

    /// <summary>Makes <paramref name="handler"/> accept certificates issued by <paramref name="ca"/>; unchanged when it is null.</summary>
    public static SocketsHttpHandler Trusting(this SocketsHttpHandler handler, X509Certificate2? ca)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (ca is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    errors == SslPolicyErrors.None
                    || (errors == SslPolicyErrors.RemoteCertificateChainErrors && certificate is X509Certificate2 presented && IssuedBy(ca, presented, chain)),
            };
        }

        return handler;
    }

    private static bool IssuedBy(X509Certificate2 ca, X509Certificate2 certificate, X509Chain? presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainElements.Select(element => element.Certificate).ToArray());
        }

        return chain.Build(certificate);
    }
}
