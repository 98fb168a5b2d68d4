using System.Net;
using System.Text.Json;
using TaskServer.Client.Tests.Fakes;

namespace TaskServer.Client.Tests;

public sealed class TaskServerClientTests
{
    private const string A = "http://a:5000";
    private const string B = "http://b:5000";
    private const string C = "http://c:5000";

    // Real time, and only spent when a test is about to fail.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_backup_naming_the_primary_sends_the_retry_there_rather_than_to_the_next_gateway()
    {
        var gateways = new StubGateways((request, _) =>
            request.Uri.Authority == "a:5000" ? StubGateways.NotPrimary(B + "/") : StubGateways.Accepted());
        using var client = Client(gateways, A, C, B);

        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);

        Assert.Equal([A, B], gateways.Hosts);
        Assert.Equal(new Uri(B), client.CurrentGateway);
    }

    [Theory]
    [InlineData("http://z:8080")]
    [InlineData("https://b:5000")]
    public async Task A_named_primary_outside_the_configured_gateways_is_not_followed_and_never_gets_the_key(string named)
    {
        var gateways = new StubGateways((request, _) =>
            request.Uri.Authority == "a:5000" ? StubGateways.NotPrimary(named) : StubGateways.Accepted());
        using var client = Client(gateways, A, B);

        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);

        Assert.Equal([A, B], gateways.Hosts);
        Assert.Equal(new Uri(B), client.CurrentGateway);
    }

    [Fact]
    public async Task A_gateway_that_does_not_answer_is_left_for_the_next()
    {
        var gateways = new StubGateways((request, _) =>
            request.Uri.Authority == "a:5000" ? throw new HttpRequestException("Connection refused") : StubGateways.Accepted());
        using var client = Client(gateways, A, B);

        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);

        Assert.Equal([A, B], gateways.Hosts);
        Assert.Equal(new Uri(B), client.CurrentGateway);
    }

    [Fact]
    public async Task A_connection_reset_that_escapes_as_a_bare_socket_error_is_left_for_the_next_gateway()
    {
        var gateways = new StubGateways((request, _) =>
            request.Uri.Authority == "a:5000" ? throw new System.Net.Sockets.SocketException(107) : StubGateways.Accepted());
        using var client = Client(gateways, A, B);

        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);

        Assert.Equal([A, B], gateways.Hosts);
    }

    [Fact]
    public async Task A_backup_naming_the_primary_is_left_at_once_without_waiting_its_Retry_After()
    {
        var gateways = new StubGateways((request, _) =>
        {
            if (request.Uri.Authority != "a:5000")
            {
                return StubGateways.Accepted();
            }

            var notPrimary = StubGateways.NotPrimary(B);
            notPrimary.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
            return notPrimary;
        });
        var options = Options(A, B);
        var clock = new DelayWatchingClock(options.AttemptTimeout);
        options.TimeProvider = clock;
        using var client = new TaskServerClient(options, gateways);

        // The clock never moves: a wait of any length would hold the submission until the guard.
        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token).WaitAsync(Guard, Token);

        Assert.Equal([A, B], gateways.Hosts);
        Assert.False(clock.Delays.Reader.TryRead(out var delay), $"waited {delay}");
    }

    [Fact]
    public async Task A_connect_timeout_is_retried_on_the_next_gateway()
    {
        // What SocketsHttpHandler throws when ConnectTimeout elapses: a cancellation the caller did not ask for.
        var gateways = new StubGateways((request, _) => request.Uri.Authority == "a:5000"
            ? throw new TaskCanceledException("The connect timeout elapsed.", new TimeoutException())
            : StubGateways.Accepted());
        using var client = Client(gateways, A, B);

        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);

        Assert.Equal([A, B], gateways.Hosts);
    }

    [Fact]
    public async Task A_cancellation_by_the_caller_is_not_retried()
    {
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var gateways = new StubGateways((_, _) =>
        {
            caller.Cancel();
            throw new OperationCanceledException(caller.Token);
        });
        using var client = Client(gateways, A, B);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: caller.Token));

        Assert.Equal([A], gateways.Hosts);
    }

    [Fact]
    public async Task Every_retry_of_one_submission_carries_the_same_Idempotency_Key()
    {
        var gateways = new StubGateways((_, call) => call < 2
            ? StubGateways.Problem(HttpStatusCode.ServiceUnavailable, "no-healthy-worker")
            : StubGateways.Accepted());
        using var client = Client(gateways, A);

        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);

        Assert.Equal(3, gateways.Requests.Count);
        var key = gateways.Requests[0].IdempotencyKey;
        Assert.False(string.IsNullOrEmpty(key));
        Assert.All(gateways.Requests, request => Assert.Equal(key, request.IdempotencyKey));
    }

    [Fact]
    public async Task Two_submissions_carry_different_Idempotency_Keys()
    {
        var gateways = new StubGateways((_, _) => StubGateways.Accepted());
        using var client = Client(gateways, A);

        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);
        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);

        Assert.NotEqual(gateways.Requests[0].IdempotencyKey, gateways.Requests[1].IdempotencyKey);
    }

    [Fact]
    public async Task A_caller_supplied_Idempotency_Key_is_sent_as_is()
    {
        var gateways = new StubGateways((_, _) => StubGateways.Accepted());
        using var client = Client(gateways, A);

        await client.SubmitAsync("echo", new { text = "hi" }, idempotencyKey: "order-42", cancellationToken: Token);

        Assert.Equal("order-42", Assert.Single(gateways.Requests).IdempotencyKey);
    }

    [Fact]
    public async Task A_429_is_retried_on_the_same_gateway_after_its_Retry_After_and_then_succeeds()
    {
        var id = Guid.NewGuid();
        var gateways = new StubGateways((_, call) => call == 0
            ? StubGateways.Problem(HttpStatusCode.TooManyRequests, "overloaded", retryAfter: TimeSpan.FromSeconds(1))
            : StubGateways.Accepted(id));
        var options = Options(A, B);
        var clock = new DelayWatchingClock(options.AttemptTimeout);
        options.TimeProvider = clock;
        using var client = new TaskServerClient(options, gateways);

        var submit = client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);
        var delayed = clock.Delays.Reader.ReadAsync(Token).AsTask();
        var first = await Task.WhenAny(delayed, submit).WaitAsync(Guard, Token);

        // Retry-After wins over the 1-5 ms backoff, and nothing is sent before it has passed.
        Assert.Same(delayed, first);
        var delay = await delayed;
        Assert.Equal(TimeSpan.FromSeconds(1), delay);
        Assert.Single(gateways.Requests);

        clock.Advance(delay);
        var task = await submit.WaitAsync(Guard, Token);

        Assert.Equal(id, task.Id);
        Assert.Equal([A, A], gateways.Hosts);
    }

    [Fact]
    public async Task A_400_problem_surfaces_at_once_as_TaskServerException_with_its_status_and_type()
    {
        var gateways = new StubGateways((_, _) =>
            StubGateways.Problem(HttpStatusCode.BadRequest, "unknown-task-type", "No handler for type nope."));
        using var client = Client(gateways, A);

        var refused = await Assert.ThrowsAsync<TaskServerException>(() => client.SubmitAsync("nope", null, cancellationToken: Token));

        Assert.Equal(400, refused.Status);
        Assert.Equal("urn:taskserver:problem:unknown-task-type", refused.ProblemType);
        Assert.Contains("No handler for type nope.", refused.Message, StringComparison.Ordinal);
        Assert.Single(gateways.Requests);
    }

    [Fact]
    public async Task Retries_stop_after_MaxAttempts_with_the_last_answer_as_a_TaskServerException()
    {
        var gateways = new StubGateways((_, _) => StubGateways.Problem(HttpStatusCode.ServiceUnavailable, "no-healthy-worker"));
        var options = Options(A);
        options.MaxAttempts = 3;
        using var client = new TaskServerClient(options, gateways);

        var refused = await Assert.ThrowsAsync<TaskServerException>(() => client.SubmitAsync("echo", null, cancellationToken: Token));

        Assert.Equal(503, refused.Status);
        Assert.Equal("urn:taskserver:problem:no-healthy-worker", refused.ProblemType);
        Assert.Equal(3, gateways.Requests.Count);
    }

    [Fact]
    public async Task When_no_gateway_answers_retries_stop_after_MaxAttempts_with_status_0()
    {
        var gateways = new StubGateways((_, _) => throw new HttpRequestException("Connection refused"));
        var options = Options(A, B);
        options.MaxAttempts = 3;
        using var client = new TaskServerClient(options, gateways);

        var refused = await Assert.ThrowsAsync<TaskServerException>(() => client.SubmitAsync("echo", null, cancellationToken: Token));

        Assert.Equal(0, refused.Status);
        Assert.Equal([A, B, A], gateways.Hosts);
    }

    [Fact]
    public async Task GetAsync_of_an_unknown_task_returns_null_without_retrying()
    {
        var gateways = new StubGateways((_, _) => StubGateways.Problem(HttpStatusCode.NotFound, "task-not-found"));
        using var client = Client(gateways, A);

        Assert.Null(await client.GetAsync(Guid.NewGuid(), Token));
        Assert.Single(gateways.Requests);
    }

    [Fact]
    public async Task WaitAsync_polls_until_the_task_is_final()
    {
        var id = Guid.NewGuid();
        string[] states = ["Queued", "Running", "Succeeded"];
        var gateways = new StubGateways((_, call) => StubGateways.Task(HttpStatusCode.OK, id, states[call]));
        using var client = Client(gateways, A);

        var task = await client.WaitAsync(id, TimeSpan.FromMilliseconds(1), Token);

        Assert.Equal("Succeeded", task.Status);
        Assert.Equal(3, gateways.Requests.Count);
        Assert.All(gateways.Requests, request => Assert.Equal(new Uri($"{A}/tasks/{id}"), request.Uri));
    }

    [Fact]
    public async Task The_submitted_body_omits_maxAttempts_when_it_is_null()
    {
        var gateways = new StubGateways((_, _) => StubGateways.Accepted());
        using var client = Client(gateways, A);

        await client.SubmitAsync("echo", new { text = "hi" }, cancellationToken: Token);
        await client.SubmitAsync("echo", new { text = "hi" }, maxAttempts: 5, cancellationToken: Token);

        using var without = JsonDocument.Parse(gateways.Requests[0].Body!);
        Assert.Equal("echo", without.RootElement.GetProperty("type").GetString());
        Assert.Equal("hi", without.RootElement.GetProperty("payload").GetProperty("text").GetString());
        Assert.False(without.RootElement.TryGetProperty("maxAttempts", out _));
        using var with = JsonDocument.Parse(gateways.Requests[1].Body!);
        Assert.Equal(5, with.RootElement.GetProperty("maxAttempts").GetInt32());
    }

    [Fact]
    public async Task Every_request_carries_the_api_key_as_a_bearer_token()
    {
        var gateways = new StubGateways((_, call) => call == 0 ? StubGateways.NotPrimary(B) : StubGateways.Accepted());
        using var client = Client(gateways, A, B);

        await client.SubmitAsync("echo", null, cancellationToken: Token);

        Assert.All(gateways.Requests, request => Assert.Equal("Bearer key-1", request.Authorization));
    }

    private static TaskServerClient Client(StubGateways gateways, params string[] urls) => new(Options(urls), gateways);

    private static TaskServerClientOptions Options(params string[] urls)
    {
        var options = new TaskServerClientOptions
        {
            ApiKey = "key-1",
            MaxAttempts = 5,
            BaseDelay = TimeSpan.FromMilliseconds(1),
            MaxDelay = TimeSpan.FromMilliseconds(5),
        };
        foreach (var url in urls)
        {
            options.Gateways.Add(new Uri(url));
        }

        return options;
    }
}
