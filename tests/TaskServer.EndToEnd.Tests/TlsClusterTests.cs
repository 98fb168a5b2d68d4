using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TaskServer.Client;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// A gateway and a worker on HTTPS with certificates from a throwaway CA: the client (the library, given the CA)
/// submits over HTTPS, the gateway forwards to the worker's internal listener over HTTPS trusting the same CA, and
/// plain HTTP to either port is refused.
/// </summary>
public sealed class TlsClusterTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("taskserver-tls-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_task_submitted_over_https_runs_to_completion_and_plain_http_is_refused()
    {
        var (caPath, ca) = WriteCertificates();
        (string, string)[] tls =
        [
            ("Kestrel:Certificates:Default:Path", Path.Combine(directory, "node.pem")),
            ("Kestrel:Certificates:Default:KeyPath", Path.Combine(directory, "node-key.pem")),
            ("Tls:CaCertificate", caPath),
        ];
        await using var database = await PostgresDatabase.CreateAsync();
        await using var worker = NodeProcess.Start(ClusterSettings.For(database, "Worker", "tls-worker", tls), scheme: "https");
        await using var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "tls-gateway", [.. tls, ("LoadBalancing:HealthProbeInterval", "00:00:00.500")]), scheme: "https");
        using var trusting = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, certificate, _, errors) => Trusted(ca, certificate, errors) } };
        await Task.WhenAll(worker.WaitUntilLiveAsync(handler: trusting), gateway.WaitUntilLiveAsync(handler: trusting));

        var options = new TaskServerClientOptions { ApiKey = ClusterSettings.ApiKey, CaCertificate = ca, MaxAttempts = 60, MaxDelay = TimeSpan.FromSeconds(1) };
        options.Gateways.Add(new Uri(gateway.Url));
        using var client = new TaskServerClient(options);
        var submitted = await client.SubmitAsync("echo", new { over = "tls" }, cancellationToken: Ct);
        var done = await client.WaitAsync(submitted.Id, cancellationToken: Ct);

        Assert.Equal("Succeeded", done.Status);
        Assert.StartsWith("https://", worker.InternalUrl, StringComparison.Ordinal);
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var url in new[] { gateway.Url, worker.InternalUrl })
        {
            var insecure = new Uri(url.Replace("https://", "http://", StringComparison.Ordinal) + "/health/live");
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync(insecure, Ct));
        }

        using var untrusting = new HttpClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => untrusting.GetAsync(new Uri(gateway.Url + "/health/live"), Ct));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static bool Trusted(X509Certificate2 ca, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is not X509Certificate2 presented)
        {
            return errors == SslPolicyErrors.None;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(presented);
    }

    /// <summary>A CA and one node certificate for 127.0.0.1 and localhost, as PEM files: what scripts/cluster.sh up --tls makes with openssl.</summary>
    private (string CaPath, X509Certificate2 Ca) WriteCertificates()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=TaskServer test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        using var nodeKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var nodeRequest = new CertificateRequest("CN=127.0.0.1", nodeKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        nodeRequest.CertificateExtensions.Add(names.Build());
        nodeRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var node = nodeRequest.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));

        var caPath = Path.Combine(directory, "ca.pem");
        File.WriteAllText(caPath, ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "node.pem"), node.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "node-key.pem"), nodeKey.ExportPkcs8PrivateKeyPem());
        return (caPath, X509CertificateLoader.LoadCertificate(ca.RawData));
    }
}
