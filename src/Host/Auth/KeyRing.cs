using System.Security.Cryptography;
using System.Text;

namespace TaskServer.Host.Auth;

/// <summary>Constant-time lookups of presented keys, so timing does not reveal how much of a key matched.</summary>
internal static class KeyRing
{
    public static bool Contains(IEnumerable<string> keys, string presented)
    {
        var presentedBytes = Encoding.UTF8.GetBytes(presented);
        var found = false;
        foreach (var key in keys)
        {
            found |= CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), presentedBytes);
        }

        return found;
    }

    /// <summary>A stable, non-secret name for a key: idempotency keys are scoped by it, so two clients never collide.</summary>
    public static string ClientId(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];
}
