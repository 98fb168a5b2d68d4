using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using TaskServer.Host.Faults;

namespace TaskServer.Host.Execution;

/// <summary><c>echo</c>: the result is the payload, which is also how it is verified.</summary>
internal sealed class EchoHandler(FaultState faults) : ITaskHandler, IVerifiesResults
{
    private static readonly JsonElement CanaryPayload = JsonDocument.Parse("""{"canary":"echo","n":[1,2,3]}""").RootElement.Clone();

    public string Type => "echo";

    public JsonElement Canary => CanaryPayload;

    public string? Validate(JsonElement payload) => null;

    public Task<JsonNode?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        var result = JsonSerializer.SerializeToNode(context.Payload);

        // The "incorrect" fault: the payload comes back wrapped, no longer equal to what was sent.
        return Task.FromResult<JsonNode?>(faults.Current.Incorrect ? new JsonArray(result) : result);
    }

    public string? Verify(JsonElement payload, JsonNode? result) =>
        JsonNode.DeepEquals(result, JsonSerializer.SerializeToNode(payload)) ? null : "the echo differs from the payload";
}

/// <summary><c>sleep</c> <c>{"ms": N}</c>: waits, honouring cancellation.</summary>
internal sealed class SleepHandler(TimeProvider timeProvider, IOptions<ExecutionOptions> options) : ITaskHandler
{
    public string Type => "sleep";

    public string? Validate(JsonElement payload) => PayloadFields.RequireInteger(payload, "ms", 0, options.Value.MaxSleepMs);

    public async Task<JsonNode?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        var milliseconds = PayloadFields.Integer(context.Payload, "ms", 0);
        await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), timeProvider, cancellationToken);
        return new JsonObject { ["sleptMs"] = milliseconds };
    }
}

/// <summary>
/// <c>hash</c> <c>{"data": "...", "rounds": N}</c>: SHA-256 applied N times, CPU-bound. Its result can be
/// verified, so the "incorrect" fault (a worker returning wrong results) shows up here.
/// </summary>
internal sealed class HashHandler(FaultState faults, IOptions<ExecutionOptions> options) : ITaskHandler, IVerifiesResults
{
    private static readonly JsonElement CanaryPayload = JsonDocument.Parse("""{"data":"canary","rounds":1000}""").RootElement.Clone();

    public string Type => "hash";

    public JsonElement Canary => CanaryPayload;

    public string? Validate(JsonElement payload) =>
        PayloadFields.RequireString(payload, "data") ?? PayloadFields.RequireInteger(payload, "rounds", 1, options.Value.MaxHashRounds, required: false);

    public Task<JsonNode?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        var rounds = PayloadFields.Integer(context.Payload, "rounds", 1);
        var digest = Compute(context.Payload.GetProperty("data").GetString()!, rounds, cancellationToken);
        if (faults.Current.Incorrect)
        {
            digest = new string(digest.Reverse().ToArray());
        }

        return Task.FromResult<JsonNode?>(new JsonObject { ["sha256"] = digest, ["rounds"] = rounds });
    }

    /// <summary>Recomputes the digest: the result must carry it and the number of rounds.</summary>
    public string? Verify(JsonElement payload, JsonNode? result)
    {
        var rounds = PayloadFields.Integer(payload, "rounds", 1);
        var expected = Compute(payload.GetProperty("data").GetString()!, rounds, CancellationToken.None);
        return result is JsonObject answer
            && answer["sha256"] is JsonValue digest && digest.TryGetValue<string>(out var actual) && actual == expected
            && answer["rounds"] is JsonValue reported && reported.TryGetValue<long>(out var actualRounds) && actualRounds == rounds
            ? null
            : "the digest differs from the one recomputed from the payload";
    }

    /// <summary>The expected result, so a client (or a drill) can verify what a worker returned.</summary>
    public static string Compute(string data, long rounds, CancellationToken cancellationToken)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(data), digest);
        for (long round = 1; round < rounds; round++)
        {
            if (round % 10_000 == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            SHA256.HashData(digest, digest);
        }

        return Convert.ToHexStringLower(digest);
    }
}

/// <summary><c>fail</c> <c>{"times": N}</c>: the first N attempts fail, later ones succeed.</summary>
internal sealed class FailHandler : ITaskHandler
{
    public string Type => "fail";

    public string? Validate(JsonElement payload) => PayloadFields.RequireInteger(payload, "times", 0, 1000);

    public Task<JsonNode?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        var times = PayloadFields.Integer(context.Payload, "times", 0);
        if (context.Attempt <= times)
        {
            throw new TaskHandlerException($"attempt {context.Attempt} fails on purpose (the first {times} do)");
        }

        return Task.FromResult<JsonNode?>(new JsonObject { ["attempt"] = context.Attempt });
    }
}

/// <summary>
/// <c>callback</c> <c>{"url": "http://127.0.0.1:..."}</c>: POSTs <c>{id, attempt, sentAt}</c> to a loopback URL,
/// so drills can count side effects. Loopback only: a task server must not be made to call arbitrary hosts.
/// Right before its side effect it asks <see cref="IAttemptFence"/> whether its attempt is still the task's current
/// one: a worker that was paused or cut off past the worker timeout may have had the attempt rescued meanwhile, and
/// then it withholds the call rather than make it a second time.
/// </summary>
internal sealed class CallbackHandler(IHttpClientFactory httpClients, IAttemptFence fence, TimeProvider timeProvider) : ITaskHandler
{
    public const string HttpClientName = "callback";

    public string Type => "callback";

    public string? Validate(JsonElement payload)
    {
        var error = PayloadFields.RequireString(payload, "url");
        if (error is not null)
        {
            return error;
        }

        return Uri.TryCreate(payload.GetProperty("url").GetString(), UriKind.Absolute, out var url)
            && url.Scheme == Uri.UriSchemeHttp
            && url.IsLoopback
            ? null
            : "payload.url must be an absolute http:// URL on a loopback address";
    }

    public async Task<JsonNode?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        var url = new Uri(context.Payload.GetProperty("url").GetString()!);

        if (!await fence.IsCurrentAsync(context, cancellationToken))
        {
            throw new TaskHandlerException($"callback withheld: attempt {context.Attempt} could not be confirmed as the task's current one (it may have been rescued while this worker was silent)");
        }

        using var client = httpClients.CreateClient(HttpClientName);
        using var response = await client.PostAsJsonAsync(url, new { id = context.TaskId, attempt = context.Attempt, sentAt = timeProvider.GetUtcNow() }, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new TaskHandlerException($"callback answered {(int)response.StatusCode}");
        }

        return new JsonObject { ["status"] = (int)response.StatusCode };
    }
}

