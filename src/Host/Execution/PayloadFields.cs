using System.Globalization;
using System.Text.Json;

namespace TaskServer.Host.Execution;

/// <summary>Reads the fields the built-in handlers take, with the message a client sees when one is wrong.</summary>
internal static class PayloadFields
{
    public static string? RequireInteger(JsonElement payload, string name, long min, long max, bool required = true)
    {
        if (payload.ValueKind != JsonValueKind.Object)
        {
            return "payload must be a JSON object";
        }

        if (!payload.TryGetProperty(name, out var value))
        {
            return required ? $"payload.{name} is required" : null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= min && number <= max
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"payload.{name} must be an integer from {min} to {max}");
    }

    public static string? RequireString(JsonElement payload, string name)
    {
        if (payload.ValueKind != JsonValueKind.Object)
        {
            return "payload must be a JSON object";
        }

        return payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? null
            : $"payload.{name} is required and must be a string";
    }

    public static long Integer(JsonElement payload, string name, long fallback) =>
        payload.TryGetProperty(name, out var value) ? value.GetInt64() : fallback;
}
