using System.Security.Cryptography;
using System.Text;

namespace TaskServer.Host.Auth;

/// <summary>
/// Constant-time lookups of presented keys, so timing reveals neither how much of a key matched nor its
/// length: digests of equal size are compared, never the keys themselves.
/// </summary>
internal static class KeyRing
{
    public static bool Contains(IEnumerable<string> keys, string presented)
    {
        var presentedDigest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        var found = false;
        foreach (var key in keys)
        {
            found |= CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(key)), presentedDigest);
        }

        return found;
    }

    /// <summary>A stable, non-secret name for a key: idempotency keys are scoped by it, so two clients never collide.</summary>
    public static string ClientId(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];
}
