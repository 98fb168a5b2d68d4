using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace TaskServer.Client;

/// <summary>A handler that accepts, besides the system's roots, certificates issued by one CA (with the right host name).</summary>
internal static class CaTrust
{
    public static SocketsHttpHandler CreateHandler(X509Certificate2 ca) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                errors == SslPolicyErrors.None
                || (errors == SslPolicyErrors.RemoteCertificateChainErrors && certificate is X509Certificate2 presented && IssuedBy(ca, presented, chain)),
        },
    };

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
