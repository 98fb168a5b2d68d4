using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TaskServer.Host.Execution;
using TaskServer.Host.Faults;

namespace TaskServer.Host.Tests.Execution;

public sealed class EchoHandlerTests
{
    [Theory]
    [InlineData("""{"order":42,"items":["a",{"b":null}]}""")]
    [InlineData("\"just a string\"")]
    [InlineData("[1,2.5,true]")]
    public async Task Echo_returns_the_payload_unchanged(string payload)
    {
        var result = await new EchoHandler(new FaultState()).ExecuteAsync(Handlers.Context(payload), TestContext.Current.CancellationToken);

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(payload), result), $"echoed {result?.ToJsonString()}");
    }

    [Fact]
    public void Echo_accepts_any_payload() =>
        Assert.Null(new EchoHandler(new FaultState()).Validate(JsonElement.Parse("[]")));
}

public sealed class SleepHandlerTests
{
    private static readonly IOptions<ExecutionOptions> Defaults = Options.Create(new ExecutionOptions());

    private readonly FakeTimeProvider time = new();

    [Theory]
    [InlineData("{}", "payload.ms is required")]
    [InlineData("""{"ms":"1000"}""", "payload.ms must be an integer")]
    [InlineData("""{"ms":1.5}""", "payload.ms must be an integer")]
    [InlineData("""{"ms":-1}""", "payload.ms must be an integer")]
    [InlineData("""{"ms":60001}""", "payload.ms must be an integer from 0 to 60000")]
    [InlineData("5", "payload must be a JSON object")]
    public void Sleep_refuses_a_missing_or_out_of_range_ms(string payload, string error)
    {
        var message = new SleepHandler(time, Defaults).Validate(JsonElement.Parse(payload));

        Assert.NotNull(message);
        Assert.StartsWith(error, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(60_000)]
    public void Sleep_accepts_ms_from_zero_to_the_configured_bound(long ms) =>
        Assert.Null(new SleepHandler(time, Defaults).Validate(JsonElement.Parse($$"""{"ms":{{ms}}}""")));

    [Fact]
    public async Task Sleep_finishes_only_when_the_time_has_passed()
    {
        var sleeping = Handlers.StartInline(() => new SleepHandler(time, Defaults).ExecuteAsync(Handlers.Context("""{"ms":1000}"""), TestContext.Current.CancellationToken));

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(sleeping.IsCompleted, "finished before 1000 ms had passed");

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(sleeping.IsCompletedSuccessfully, $"not finished once 1000 ms had passed: {sleeping.Status}");
        Assert.Equal(1000, (await sleeping)!["sleptMs"]!.GetValue<long>());
    }

    [Fact]
    public async Task Sleep_stops_with_OperationCanceledException_when_its_token_is_cancelled()
    {
        using var cancellation = new CancellationTokenSource();
        var sleeping = new SleepHandler(time, Defaults).ExecuteAsync(Handlers.Context("""{"ms":60000}"""), cancellation.Token);
        Assert.False(sleeping.IsCompleted);

        await cancellation.CancelAsync();

        // The fake clock never moves here, so a sleep that ignored its token would run into this real-time bound instead.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sleeping.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }
}

public sealed class HashHandlerTests
{
    private static readonly IOptions<ExecutionOptions> Defaults = Options.Create(new ExecutionOptions());

    /// <summary>SHA-256("abc"), the test vector of FIPS 180-2.</summary>
    private const string AbcDigest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    [Fact]
    public async Task Hash_under_the_incorrect_fault_returns_a_digest_that_fails_verification()
    {
        var faults = new FaultState();
        faults.Set(FaultSettings.None with { Incorrect = true });

        var result = await new HashHandler(faults, Defaults).ExecuteAsync(Handlers.Context("""{"data":"abc"}"""), TestContext.Current.CancellationToken);

        Assert.NotEqual(HashHandler.Compute("abc", 1, CancellationToken.None), result!["sha256"]!.GetValue<string>());
    }

    [Fact]
    public async Task Hash_of_abc_for_one_round_is_the_FIPS_vector()
    {
        var result = await new HashHandler(new FaultState(), Defaults).ExecuteAsync(Handlers.Context("""{"data":"abc"}"""), TestContext.Current.CancellationToken);

        Assert.Equal(AbcDigest, result!["sha256"]!.GetValue<string>());
        Assert.Equal(1, result["rounds"]!.GetValue<long>());
    }

    [Fact]
    public void Two_rounds_hash_the_digest_again()
    {
        var expected = Convert.ToHexStringLower(SHA256.HashData(SHA256.HashData(Encoding.UTF8.GetBytes("abc"))));

        Assert.Equal(expected, HashHandler.Compute("abc", 2, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task The_handler_returns_what_Compute_predicts_for_its_rounds()
    {
        var result = await new HashHandler(new FaultState(), Defaults).ExecuteAsync(Handlers.Context("""{"data":"abc","rounds":3}"""), TestContext.Current.CancellationToken);

        Assert.Equal(HashHandler.Compute("abc", 3, TestContext.Current.CancellationToken), result!["sha256"]!.GetValue<string>());
        Assert.NotEqual(AbcDigest, result["sha256"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"data":5}""")]
    [InlineData("""{"data":"abc","rounds":0}""")]
    [InlineData("""{"data":"abc","rounds":1000001}""")]
    public void Hash_refuses_missing_data_and_out_of_range_rounds(string payload) =>
        Assert.NotNull(new HashHandler(new FaultState(), Defaults).Validate(JsonElement.Parse(payload)));
}

public sealed class HandlerBoundTests
{
    [Fact]
    public void The_bounds_are_options()
    {
        var options = Options.Create(new ExecutionOptions { MaxSleepMs = 10, MaxHashRounds = 5 });

        Assert.NotNull(new SleepHandler(TimeProvider.System, options).Validate(JsonElement.Parse("""{"ms":11}""")));
        Assert.Null(new SleepHandler(TimeProvider.System, options).Validate(JsonElement.Parse("""{"ms":10}""")));
        Assert.NotNull(new HashHandler(new FaultState(), options).Validate(JsonElement.Parse("""{"data":"a","rounds":6}""")));
        Assert.Null(new HashHandler(new FaultState(), options).Validate(JsonElement.Parse("""{"data":"a","rounds":5}""")));
    }
}

public sealed class FailHandlerTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Fail_throws_on_every_attempt_up_to_times(int attempt)
    {
        var exception = await Assert.ThrowsAsync<TaskHandlerException>(
            () => new FailHandler().ExecuteAsync(Handlers.Context("""{"times":2}""", attempt), TestContext.Current.CancellationToken));
        Assert.Contains($"attempt {attempt}", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fail_succeeds_on_the_attempt_after_times()
    {
        var result = await new FailHandler().ExecuteAsync(Handlers.Context("""{"times":2}""", attempt: 3), TestContext.Current.CancellationToken);

        Assert.Equal(3, result!["attempt"]!.GetValue<int>());
    }

    [Fact]
    public async Task Fail_with_zero_times_succeeds_at_once()
    {
        var result = await new FailHandler().ExecuteAsync(Handlers.Context("""{"times":0}""", attempt: 1), TestContext.Current.CancellationToken);

        Assert.Equal(1, result!["attempt"]!.GetValue<int>());
    }
}

public sealed class CallbackHandlerTests
{
    [Theory]
    [InlineData("http://example.com/")]
    [InlineData("https://127.0.0.1/")]
    [InlineData("ftp://127.0.0.1/")]
    [InlineData("/relative/path")]
    [InlineData("127.0.0.1:1234")]
    [InlineData("http://10.0.0.1/")]
    public void Callback_refuses_urls_that_are_not_absolute_http_on_loopback(string url)
    {
        var error = Callback(new StubHttpClients(HttpStatusCode.OK)).Validate(UrlPayload(url));

        Assert.Equal("payload.url must be an absolute http:// URL on a loopback address", error);
    }

    [Theory]
    [InlineData("http://127.0.0.1:1234/x")]
    [InlineData("http://[::1]:80/")]
    public void Callback_accepts_http_urls_on_loopback(string url) =>
        Assert.Null(Callback(new StubHttpClients(HttpStatusCode.OK)).Validate(UrlPayload(url)));

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"url":42}""")]
    public void Callback_needs_a_url_string(string payload) =>
        Assert.Equal("payload.url is required and must be a string", Callback(new StubHttpClients(HttpStatusCode.OK)).Validate(JsonElement.Parse(payload)));

    [Fact]
    public async Task Callback_posts_the_task_id_and_attempt_to_the_url()
    {
        var clients = new StubHttpClients(HttpStatusCode.NoContent);
        var context = Handlers.Context("""{"url":"http://127.0.0.1:1234/hook"}""", attempt: 2);

        var result = await Callback(clients).ExecuteAsync(context, TestContext.Current.CancellationToken);

        var call = Assert.Single(clients.Calls);
        Assert.Equal(HttpMethod.Post, call.Method);
        Assert.Equal(new Uri("http://127.0.0.1:1234/hook"), call.Url);
        Assert.Equal(context.TaskId, call.Body.GetProperty("id").GetGuid());
        Assert.Equal(2, call.Body.GetProperty("attempt").GetInt32());
        Assert.Equal(CallbackHandler.HttpClientName, clients.RequestedName);
        Assert.Equal(204, result!["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_callback_answered_with_an_error_status_fails_the_attempt()
    {
        var handler = Callback(new StubHttpClients(HttpStatusCode.InternalServerError));

        var exception = await Assert.ThrowsAsync<TaskHandlerException>(
            () => handler.ExecuteAsync(Handlers.Context("""{"url":"http://127.0.0.1:1234/hook"}"""), TestContext.Current.CancellationToken));

        Assert.Equal("callback answered 500", exception.Message);
    }

    [Fact]
    public async Task A_callback_whose_attempt_is_not_confirmed_current_is_withheld()
    {
        var clients = new StubHttpClients(HttpStatusCode.OK);

        var exception = await Assert.ThrowsAsync<TaskHandlerException>(
            () => Callback(clients, current: false).ExecuteAsync(Handlers.Context("""{"url":"http://127.0.0.1:1234/hook"}"""), TestContext.Current.CancellationToken));

        Assert.StartsWith("callback withheld: attempt 1 could not be confirmed", exception.Message, StringComparison.Ordinal);
        Assert.Empty(clients.Calls);
    }

    private static CallbackHandler Callback(StubHttpClients clients, bool current = true) =>
        new(clients, new FixedFence(current), TimeProvider.System);

    /// <summary>The fence's answer, fixed: what it reads is AttemptFence's own tests' subject.</summary>
    private sealed class FixedFence(bool current) : IAttemptFence
    {
        public Task<bool> IsCurrentAsync(TaskExecutionContext context, CancellationToken cancellationToken) => Task.FromResult(current);
    }

    private static JsonElement UrlPayload(string url) => JsonSerializer.SerializeToElement(new { url });

    private sealed record Call(HttpMethod Method, Uri? Url, JsonElement Body);

    /// <summary>Answers every request with one status and records it; no socket is opened.</summary>
    private sealed class StubHttpClients(HttpStatusCode status) : HttpMessageHandler, IHttpClientFactory
    {
        public List<Call> Calls { get; } = [];

        public string? RequestedName { get; private set; }

        public HttpClient CreateClient(string name)
        {
            RequestedName = name;
            return new HttpClient(this, disposeHandler: false);
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = JsonElement.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
            Calls.Add(new Call(request.Method, request.RequestUri, body));
            return new HttpResponseMessage(status);
        }
    }
}

internal static class Handlers
{
    public static TaskExecutionContext Context(string payload, int attempt = 1) =>
        new(Guid.CreateVersion7(), attempt, MaxAttempts: 5, JsonElement.Parse(payload));

    /// <summary>
    /// Starts an operation with no synchronization context, so its continuations run inline when
    /// FakeTimeProvider fires a timer inside Advance (or a token is cancelled): right after that call
    /// returns, the task shows its whole effect, and an early or late finish cannot hide in a queued callback.
    /// </summary>
    public static Task<T> StartInline<T>(Func<Task<T>> start)
    {
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            return start();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }
}
