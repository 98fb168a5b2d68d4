using System.Security.Cryptography.X509Certificates;

namespace TaskServer.Client;

public sealed class TaskServerClientOptions
{
    /// <summary>Every gateway the client may use; it starts with the first and follows the primary from there.</summary>
    public IList<Uri> Gateways { get; } = [];

    public string ApiKey { get; set; } = "";

    /// <summary>
    /// The CA that signed the gateways' certificates, when it is not one the system trusts (a cluster's own CA,
    /// <c>CA_CERT</c> in <c>.cluster/env</c>); null to trust the system's roots only.
    /// </summary>
    public X509Certificate2? CaCertificate { get; set; }

    /// <summary>Attempts per call, the first included.</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>First retry delay; it doubles (with jitter) up to <see cref="MaxDelay"/>, unless the server's Retry-After says more.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time allowed for one HTTP attempt.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
