using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace TaskServer.Host.Tls;

/// <summary>
/// Configuration section <c>Tls</c>: how this node trusts the nodes it calls (gateways -> workers, backups -> the primary).
/// The node's own certificate is Kestrel's: <c>Kestrel:Certificates:Default:Path</c> and <c>:KeyPath</c> with https URLs.
/// </summary>
public sealed class TlsOptions
{
    public const string SectionName = "Tls";

    /// <summary>PEM file of the CA that signed the nodes' certificates; empty to trust the system's roots only.</summary>
    public string CaCertificate { get; set; } = "";
}

internal sealed class TlsOptionsValidator : IValidateOptions<TlsOptions>
{
    public ValidateOptionsResult Validate(string? name, TlsOptions options)
    {
        if (options.CaCertificate.Length == 0)
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(options.CaCertificate));
            return ValidateOptionsResult.Success;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or CryptographicException)
        {
            return ValidateOptionsResult.Fail($"Tls:CaCertificate '{options.CaCertificate}' cannot be read as a PEM certificate: {exception.Message}");
        }
    }
}
