using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace TaskServer.Host.Tls;

/// <summary>
/// Validates the certificates of other nodes against <c>Tls:CaCertificate</c> (besides the system's roots), for every
/// HTTP client a node opens to another: YARP's to workers, the backup's probe of the primary.
/// </summary>
internal sealed class CaTrust(IOptions<TlsOptions> options)
{
    private readonly Lazy<X509Certificate2?> ca = new(() =>
        options.Value.CaCertificate.Length == 0 ? null : X509Certificate2.CreateFromPem(File.ReadAllText(options.Value.CaCertificate)));

    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler();
        Apply(handler.SslOptions);
        return handler;
    }

    public void Apply(SslClientAuthenticationOptions ssl)
    {
        if (ca.Value is not null)
        {
            ssl.RemoteCertificateValidationCallback = Validate;
        }
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        // A wrong host name or no certificate is never excused; only an untrusted root is checked against the CA.
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(ca.Value!);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(element => element.Certificate).ToArray());
        }

        return custom.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
    }
}
