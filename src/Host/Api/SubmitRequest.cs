using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace TaskServer.Host.Api;

/// <summary>
/// The body of <c>POST /tasks</c>: <c>{ "type": "...", "payload": ..., "maxAttempts": N, "timeout": "30s" }</c>, checked
/// before anything is written. <c>timeout</c> bounds each attempt (ISO 8601 or a number with ms, s, m or h).
/// </summary>
public sealed record SubmitRequest(string Type, string Payload, int MaxAttempts, TimeSpan Timeout)
{
    public const int MaxIdempotencyKeyLength = 200;

    /// <summary>The shortest timeout a submission may ask for: below it an attempt could not even be claimed and started.</summary>
    public static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>Reads and validates the body; returns the request, or the problem to answer with.</summary>
    public static async Task<(SubmitRequest? Request, IResult? Problem)> ReadAsync(
        HttpRequest request, TaskHandlers handlers, ExecutionOptions options, CancellationToken cancellationToken)
    {
        if (request.ContentLength > options.MaxPayloadBytes)
        {
            return (null, Problems.PayloadTooLarge(options.MaxPayloadBytes));
        }

        var body = await ReadBodyAsync(request.BodyReader, options.MaxPayloadBytes + 1L, cancellationToken);
        if (body.Length > options.MaxPayloadBytes)
        {
            return (null, Problems.PayloadTooLarge(options.MaxPayloadBytes));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException exception)
        {
            return (null, Problems.MalformedJson(exception.Message));
        }

        using (document)
        {
            return Validate(document.RootElement, handlers, options);
        }
    }

    private static (SubmitRequest?, IResult?) Validate(JsonElement root, TaskHandlers handlers, ExecutionOptions options)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, Problems.InvalidRequest("The body must be a JSON object with 'type' and 'payload'."));
        }

        if (!root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(typeElement.GetString()))
        {
            return (null, Problems.InvalidRequest("'type' is required and must be a non-empty string."));
        }

        var type = typeElement.GetString()!;
        var handler = handlers.Find(type);
        if (handler is null)
        {
            return (null, Problems.UnknownTaskType(type, handlers.Types));
        }

        var payload = root.TryGetProperty("payload", out var payloadElement) ? payloadElement : default;
        var payloadError = Unstorable(payload) ?? handler.Validate(payload);
        if (payloadError is not null)
        {
            return (null, Problems.InvalidPayload(type, payloadError));
        }

        var maxAttempts = options.DefaultMaxAttempts;
        if (root.TryGetProperty("maxAttempts", out var attemptsElement) && attemptsElement.ValueKind != JsonValueKind.Null)
        {
            if (attemptsElement.ValueKind != JsonValueKind.Number || !attemptsElement.TryGetInt32(out maxAttempts) || maxAttempts < 1 || maxAttempts > options.MaxAttemptsLimit)
            {
                return (null, Problems.InvalidRequest($"'maxAttempts' must be an integer from 1 to {options.MaxAttemptsLimit}."));
            }
        }

        var timeout = options.DefaultTimeout;
        if (root.TryGetProperty("timeout", out var timeoutElement) && timeoutElement.ValueKind != JsonValueKind.Null)
        {
            if (timeoutElement.ValueKind != JsonValueKind.String || !DurationText.TryParse(timeoutElement.GetString(), out timeout)
                || timeout < MinTimeout || timeout > options.MaxTimeout)
            {
                return (null, Problems.InvalidRequest(
                    $"'timeout' must be a duration from {DurationText.Format(MinTimeout)} to {DurationText.Format(options.MaxTimeout)}, as ISO 8601 (\"PT30S\") or a number with ms, s, m or h (\"30s\")."));
            }
        }

        var payloadJson = payload.ValueKind == JsonValueKind.Undefined ? "null" : payload.GetRawText();
        return (new SubmitRequest(type, payloadJson, maxAttempts, timeout), null);
    }

    /// <summary>
    /// Null when every string of the JSON (names and values) can be stored; otherwise why not. PostgreSQL's jsonb
    /// refuses the NUL character and unpaired surrogates (<c>\u0000</c>, <c>\ud800</c>), MongoDB's keys refuse NUL:
    /// refused here as the client's error, not met later as a database failure.
    /// </summary>
    public static string? Unstorable(JsonElement element)
    {
        try
        {
            return Walk(element);
        }
        catch (InvalidOperationException)
        {
            return "Strings must be valid UTF-16: an unpaired surrogate (\\ud800-\\udfff) cannot be stored.";
        }
    }

    /// <summary>Null when <paramref name="text"/> can be stored; for query values such as filters.</summary>
    public static string? Unstorable(string text) => text.Contains('\0', StringComparison.Ordinal) ? "The NUL character (\\u0000) cannot be stored." : null;

    private static string? Walk(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => Unstorable(element.GetString()!),
        JsonValueKind.Array => element.EnumerateArray().Select(Walk).FirstOrDefault(error => error is not null),
        JsonValueKind.Object => element.EnumerateObject().Select(property => Unstorable(property.Name) ?? Walk(property.Value)).FirstOrDefault(error => error is not null),
        _ => null,
    };

    /// <summary>Null when the key is acceptable (or absent); otherwise why not.</summary>
    public static string? CheckIdempotencyKey(string? key) =>
        key is null || (key.Length is > 0 and <= MaxIdempotencyKeyLength && key.All(c => c is > ' ' and <= '~'))
            ? null
            : $"Idempotency-Key must be 1-{MaxIdempotencyKeyLength} printable ASCII characters without spaces.";

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(PipeReader reader, long limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            if (read.IsCompleted || read.Buffer.Length >= limit)
            {
                var bytes = read.Buffer.Slice(0, Math.Min(read.Buffer.Length, limit)).ToArray();
                reader.AdvanceTo(read.Buffer.End);
                return bytes;
            }

            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }
}
