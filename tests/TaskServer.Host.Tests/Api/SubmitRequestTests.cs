using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using TaskServer.Host.Api;
using TaskServer.Host.Execution;
using TaskServer.Host.Faults;

namespace TaskServer.Host.Tests.Api;

public sealed class SubmitRequestTests
{
    private const int Limit = 1024;

    private readonly TaskHandlers handlers = new([new EchoHandler(new FaultState()), new SleepHandler(TimeProvider.System, Microsoft.Extensions.Options.Options.Create(new ExecutionOptions())), new HashHandler(new FaultState(), Microsoft.Extensions.Options.Options.Create(new ExecutionOptions()))]);

    private readonly ExecutionOptions options = new() { DefaultMaxAttempts = 3, MaxAttemptsLimit = 20, MaxPayloadBytes = Limit };

    [Fact]
    public async Task A_valid_request_carries_its_type_payload_and_the_default_attempts()
    {
        var (request, problem) = await ReadAsync("""{"type":"sleep","payload":{ "ms": 5 }}""");

        Assert.Null(problem);
        Assert.Equal(new SubmitRequest("sleep", """{ "ms": 5 }""", 3, TimeSpan.FromMinutes(5)), request);
    }

    [Fact]
    public async Task MaxAttempts_from_the_client_replaces_the_default()
    {
        var (request, _) = await ReadAsync("""{"type":"echo","payload":1,"maxAttempts":20}""");

        Assert.Equal(20, request?.MaxAttempts);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("PT2M", 120_000)]
    [InlineData("1500ms", 1_500)]
    [InlineData("24h", 86_400_000)]
    public async Task A_timeout_is_read_as_iso_8601_or_a_number_with_a_unit(string timeout, int milliseconds)
    {
        var (request, problem) = await ReadAsync($$"""{"type":"echo","payload":1,"timeout":"{{timeout}}"}""");

        Assert.Null(problem);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), request?.Timeout);
    }

    [Fact]
    public async Task A_missing_payload_is_stored_as_json_null()
    {
        var (request, _) = await ReadAsync("""{"type":"echo"}""");

        Assert.Equal("null", request?.Payload);
    }

    [Fact]
    public async Task A_body_of_exactly_the_limit_is_accepted()
    {
        const string prefix = "{\"type\":\"echo\",\"payload\":\"";
        var body = prefix + new string('x', Limit - prefix.Length - 2) + "\"}";
        Assert.Equal(Limit, Encoding.UTF8.GetByteCount(body));

        var (request, problem) = await ReadAsync(body);

        Assert.Null(problem);
        Assert.Equal("echo", request?.Type);
    }

    [Theory]
    [InlineData("""{"type":""", "malformed-json")]
    [InlineData("", "malformed-json")]
    [InlineData("""[1,2]""", "invalid-request")]
    [InlineData("\"echo\"", "invalid-request")]
    [InlineData("""{"payload":{}}""", "invalid-request")]
    [InlineData("""{"type":"","payload":{}}""", "invalid-request")]
    [InlineData("""{"type":7,"payload":{}}""", "invalid-request")]
    [InlineData("""{"type":"sleep","payload":{"ms":"long"}}""", "invalid-payload")]
    [InlineData("""{"type":"sleep"}""", "invalid-payload")]
    [InlineData("""{"type":"echo","payload":1,"maxAttempts":0}""", "invalid-request")]
    [InlineData("""{"type":"echo","payload":1,"maxAttempts":21}""", "invalid-request")]
    [InlineData("""{"type":"echo","payload":1,"maxAttempts":2.5}""", "invalid-request")]
    [InlineData("""{"type":"echo","payload":1,"maxAttempts":"3"}""", "invalid-request")]
    [InlineData("""{"type":"echo","payload":1,"timeout":30}""", "invalid-request")]
    [InlineData("""{"type":"echo","payload":1,"timeout":"soon"}""", "invalid-request")]
    [InlineData("""{"type":"echo","payload":1,"timeout":"50ms"}""", "invalid-request")]
    [InlineData("""{"type":"echo","payload":1,"timeout":"P2D"}""", "invalid-request")]
    [InlineData("""{"type":"echo","payload":"a\u0000b"}""", "invalid-payload")]
    [InlineData("""{"type":"echo","payload":{"deep":["x","\u0000"]}}""", "invalid-payload")]
    [InlineData("""{"type":"echo","payload":{"a\u0000":1}}""", "invalid-payload")]
    [InlineData("""{"type":"echo","payload":"\ud800"}""", "invalid-payload")]
    [InlineData("""{"type":"echo","payload":{"\udc00x":1}}""", "invalid-payload")]
    public async Task A_bad_body_is_a_400_problem(string body, string problem)
    {
        var (request, result) = await ReadAsync(body);

        Assert.Null(request);
        AssertProblem(result, 400, problem);
    }

    [Fact]
    public async Task A_payload_with_paired_surrogates_and_escapes_is_storable()
    {
        var (request, result) = await ReadAsync("""{"type":"echo","payload":{"emoji":"\ud83d\ude00","tab":"\t"}}""");

        Assert.Null(result);
        Assert.NotNull(request);
    }

    [Fact]
    public async Task An_unknown_type_is_a_problem_that_lists_the_known_types_in_order()
    {
        var (_, result) = await ReadAsync("""{"type":"teleport","payload":{}}""");

        var problem = AssertProblem(result, 400, "unknown-task-type");
        Assert.Equal("'teleport' is not a task type here. Known types: echo, hash, sleep.", problem.ProblemDetails.Detail);
    }

    [Fact]
    public async Task An_invalid_payload_problem_says_what_is_wrong()
    {
        var (_, result) = await ReadAsync("""{"type":"sleep","payload":{"ms":-1}}""");

        var problem = AssertProblem(result, 400, "invalid-payload");
        Assert.Equal("payload.ms must be an integer from 0 to 60000", problem.ProblemDetails.Detail);
    }

    [Fact]
    public async Task A_declared_length_over_the_limit_is_refused_before_the_body_is_read()
    {
        var body = new TrackingStream("""{"type":"echo","payload":1}"""u8.ToArray());

        var (request, result) = await SubmitRequest.ReadAsync(Request(body, contentLength: Limit + 1), handlers, options, TestContext.Current.CancellationToken);

        Assert.Null(request);
        AssertProblem(result, 413, "payload-too-large");
        Assert.False(body.WasRead, "the body was read although its declared length was over the limit");
    }

    [Theory]
    [InlineData(Limit + 1)]
    [InlineData(100 * Limit)]
    public async Task A_body_over_the_limit_without_a_declared_length_is_refused(int size)
    {
        var body = $$"""{"type":"echo","payload":"{{new string('x', size)}}"}""";

        var (request, result) = await ReadAsync(body, declareLength: false);

        Assert.Null(request);
        AssertProblem(result, 413, "payload-too-large");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("a")]
    [InlineData("order-42:retry_1")]
    [InlineData("!~")]
    public void An_idempotency_key_of_printable_ascii_is_accepted(string? key) =>
        Assert.Null(SubmitRequest.CheckIdempotencyKey(key));

    [Fact]
    public void An_idempotency_key_of_the_maximum_length_is_accepted() =>
        Assert.Null(SubmitRequest.CheckIdempotencyKey(new string('k', SubmitRequest.MaxIdempotencyKeyLength)));

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("tab\tinside")]
    [InlineData("line\n")]
    [InlineData("café")]
    [InlineData("del\u007f")]
    public void An_idempotency_key_with_other_characters_is_refused(string key) =>
        Assert.Equal("Idempotency-Key must be 1-200 printable ASCII characters without spaces.", SubmitRequest.CheckIdempotencyKey(key));

    [Fact]
    public void An_idempotency_key_over_the_maximum_length_is_refused() =>
        Assert.NotNull(SubmitRequest.CheckIdempotencyKey(new string('k', SubmitRequest.MaxIdempotencyKeyLength + 1)));

    private Task<(SubmitRequest? Request, IResult? Problem)> ReadAsync(string body, bool declareLength = true)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        return SubmitRequest.ReadAsync(Request(new MemoryStream(bytes), declareLength ? bytes.Length : null), handlers, options, TestContext.Current.CancellationToken);
    }

    private static HttpRequest Request(Stream body, long? contentLength)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = contentLength;
        context.Request.Body = body;
        return context.Request;
    }

    private static ProblemHttpResult AssertProblem(IResult? result, int status, string slug)
    {
        var problem = Assert.IsType<ProblemHttpResult>(result);
        Assert.Equal(status, problem.StatusCode);
        Assert.Equal(status, problem.ProblemDetails.Status);
        Assert.Equal(Problems.TypePrefix + slug, problem.ProblemDetails.Type);
        return problem;
    }

    /// <summary>A body that remembers whether anyone read from it.</summary>
    private sealed class TrackingStream(byte[] content) : MemoryStream(content)
    {
        public bool WasRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            WasRead = true;
            return base.Read(buffer, offset, count);
        }

        public override int Read(Span<byte> buffer)
        {
            WasRead = true;
            return base.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            WasRead = true;
            return base.ReadAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            WasRead = true;
            return base.ReadAsync(buffer, cancellationToken);
        }
    }
}
