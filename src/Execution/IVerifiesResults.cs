using System.Text.Json;
using System.Text.Json.Nodes;

namespace TaskServer.Execution;

/// <summary>
/// Implemented by a handler whose result can be checked against its payload. The worker verifies every result of such a
/// handler before it completes the attempt: a result that fails is a failed attempt, retried on another worker.
/// </summary>
public interface IVerifiesResults
{
    /// <summary>Why <paramref name="result"/> is not the right result for <paramref name="payload"/>, or null when it is.</summary>
    string? Verify(JsonElement payload, JsonNode? result);

    /// <summary>A payload the worker runs through the handler and verifies to tell whether it computes correctly again.</summary>
    JsonElement Canary { get; }
}
