using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TaskServer.Drill.Analysis;

/// <summary>
/// What a verifiable task's result must be, computed here from its payload: a drill checks the workers' answers
/// itself rather than trusting the workers' own verification.
/// </summary>
internal static class ExpectedResults
{
    /// <summary><c>hash</c>: SHA-256 of the payload's data, applied <c>rounds</c> times (1 when absent), as lowercase hex.</summary>
    public static bool HashMatches(JsonElement payload, JsonElement? result) =>
        result is { ValueKind: JsonValueKind.Object } answer
        && answer.TryGetProperty("sha256", out var digest)
        && digest.ValueKind == JsonValueKind.String
        && payload.TryGetProperty("data", out var data)
        && digest.GetString() == Hash(data.GetString()!, payload.TryGetProperty("rounds", out var rounds) ? rounds.GetInt32() : 1);

    /// <summary><c>echo</c>: the result is the payload.</summary>
    public static bool EchoMatches(JsonElement payload, JsonElement? result) =>
        result is { } answer && JsonElement.DeepEquals(payload, answer);

    public static string Hash(string data, int rounds)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(data));
        for (var round = 1; round < rounds; round++)
        {
            digest = SHA256.HashData(digest);
        }

        return Convert.ToHexStringLower(digest);
    }
}
