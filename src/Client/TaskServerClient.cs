using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Polly;
using Polly.Retry;

namespace TaskServer.Client;

/// <summary>
/// A client of the task API that survives a failover: it knows every gateway, follows the primary a
/// backup names, moves to the next gateway when one does not answer, and retries with jittered backoff
/// that honours Retry-After. Every submission carries an Idempotency-Key that stays the same across its
/// retries, so a retry after a lost answer never makes a second task.
/// </summary>
public sealed class TaskServerClient : IDisposable
{
    /// <summary>The header with which a backup gateway names the primary.</summary>
    public const string PrimaryHeader = "X-TaskServer-Primary";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The source of the client's spans: a submission, with every retry inside it, is the root of its task's trace.</summary>
    public const string ActivitySourceName = "TaskServer.Client";

    private readonly ActivitySource tracing = new(ActivitySourceName);
    private readonly HttpClient http;
    private readonly ResiliencePipeline<HttpResponseMessage> pipeline;
    private readonly Uri[] gateways;
    private int current;

    public TaskServerClient(TaskServerClientOptions options, HttpMessageHandler? handler = null)
    {
        if (options.Gateways.Count == 0)
        {
            throw new ArgumentException("At least one gateway URL is required.", nameof(options));
        }

        gateways = [.. options.Gateways];
        http = handler is not null ? new HttpClient(handler, disposeHandler: false)
            : options.CaCertificate is { } ca ? new HttpClient(CaTrust.CreateHandler(ca), disposeHandler: true)
            : new HttpClient();
        http.Timeout = Timeout.InfiniteTimeSpan;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = options.TimeProvider }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome, args.Context.CancellationToken)),
                DelayGenerator = args => ValueTask.FromResult(RetryDelay(args.Outcome.Result)),
                OnRetry = args =>
                {
                    Redirect(args.Outcome);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    /// <summary>The gateway the next call goes to first.</summary>
    public Uri CurrentGateway => gateways[Volatile.Read(ref current) % gateways.Length];

    public async Task<TaskInfo> SubmitAsync(string type, object? payload, int? maxAttempts = null, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        await SubmitAsync(type, payload, maxAttempts, timeout: null, idempotencyKey, cancellationToken);

    /// <param name="timeout">How long one attempt may run; null for the server's default.</param>
    public async Task<TaskInfo> SubmitAsync(string type, object? payload, int? maxAttempts, TimeSpan? timeout, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        var key = idempotencyKey ?? Guid.NewGuid().ToString("N");
        var body = JsonSerializer.SerializeToUtf8Bytes(new { type, payload, maxAttempts, timeout = timeout is { } t ? System.Xml.XmlConvert.ToString(t) : null }, Json);

        // HttpClient sends the current span's context as traceparent: the gateway, the worker and every attempt join it.
        using var activity = tracing.StartActivity("task.submit", ActivityKind.Client);
        activity?.SetTag("task.type", type);
        return (await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "tasks") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Add("Idempotency-Key", key);
                return request;
            },
            cancellationToken))!;
    }

    public async Task<TaskInfo?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        try
        {
            return await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"tasks/{id}"), cancellationToken);
        }
        catch (TaskServerException e) when (e.Status == (int)HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<TaskPage> ListAsync(string? status = null, string? type = null, int limit = 50, Guid? after = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string> { $"limit={limit}" };
        if (status is not null)
        {
            query.Add($"status={Uri.EscapeDataString(status)}");
        }

        if (type is not null)
        {
            query.Add($"type={Uri.EscapeDataString(type)}");
        }

        if (after is not null)
        {
            query.Add($"after={after}");
        }

        using var response = await SendRawAsync(() => new HttpRequestMessage(HttpMethod.Get, "tasks?" + string.Join('&', query)), cancellationToken);
        return (await response.Content.ReadFromJsonAsync<TaskPage>(Json, cancellationToken))!;
    }

    public async Task<TaskInfo> CancelAsync(Guid id, CancellationToken cancellationToken = default) =>
        (await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, $"tasks/{id}"), cancellationToken))!;

    /// <summary>Polls until the task is final (Succeeded, Failed or Cancelled).</summary>
    public async Task<TaskInfo> WaitAsync(Guid id, TimeSpan? pollInterval = null, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var task = await GetAsync(id, cancellationToken) ?? throw new TaskServerException(404, null, $"Task {id} does not exist.");
            if (task.IsFinal)
            {
                return task;
            }

            await Task.Delay(pollInterval ?? TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    public void Dispose()
    {
        http.Dispose();
        tracing.Dispose();
    }

    private async Task<TaskInfo?> SendAsync(Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(request, cancellationToken);
        return await response.Content.ReadFromJsonAsync<TaskInfo>(Json, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendRawAsync(Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await pipeline.ExecuteAsync(
                async token =>
                {
                    using var message = request();
                    message.RequestUri = new Uri(CurrentGateway, message.RequestUri!);
                    return await http.SendAsync(message, token);
                },
                cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or Polly.Timeout.TimeoutRejectedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new TaskServerException(0, null, $"No gateway answered after retries: {e.Message}");
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await ProblemAsync(response, cancellationToken);
        }
    }

    /// <summary>
    /// A cancellation the caller did not ask for is transient too: a handler's connect timeout
    /// (SocketsHttpHandler.ConnectTimeout) surfaces as one when a gateway's host does not answer at all. So is a bare
    /// SocketException: a connection reset between connect and the handler reading its endpoint escapes unwrapped
    /// (ENOTCONN from Socket.RemoteEndPoint, seen when a gateway was killed mid-connect).
    /// </summary>
    private static bool IsTransient(Outcome<HttpResponseMessage> outcome, CancellationToken caller) =>
        outcome.Exception is HttpRequestException or System.Net.Sockets.SocketException or Polly.Timeout.TimeoutRejectedException
        || (outcome.Exception is OperationCanceledException && !caller.IsCancellationRequested)
        || outcome.Result?.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    /// <summary>
    /// None when a backup named the primary: the retry goes to another gateway, and the backup's Retry-After
    /// only says when the backup itself might serve. Otherwise the server's Retry-After when it gave one, else
    /// the strategy's own backoff.
    /// </summary>
    private static TimeSpan? RetryDelay(HttpResponseMessage? response) =>
        NamedPrimary(response) is not null ? TimeSpan.Zero
        : response?.Headers.RetryAfter?.Delta is { } delta ? delta
        : null;

    private static Uri? NamedPrimary(HttpResponseMessage? response) =>
        response?.Headers.TryGetValues(PrimaryHeader, out var values) == true
        && Uri.TryCreate(values.FirstOrDefault(), UriKind.Absolute, out var primary)
            ? primary
            : null;

    /// <summary>
    /// A backup names the primary: go there, if it is one of the configured gateways (same scheme, host and port).
    /// Any other name (a misconfigured backup, a forged header, an https -> http downgrade) is treated as no answer:
    /// the API key is only ever sent to the gateways the caller configured. A gateway that does not answer: try the next.
    /// </summary>
    private void Redirect(Outcome<HttpResponseMessage> outcome)
    {
        var named = NamedPrimary(outcome.Result) is { } primary
            ? Array.FindIndex(gateways, g => g.Scheme == primary.Scheme && g.Authority == primary.Authority)
            : -1;
        if (named >= 0)
        {
            Volatile.Write(ref current, named);
        }
        else if (outcome.Exception is not null || outcome.Result?.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout
            || outcome.Result?.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            Volatile.Write(ref current, (Volatile.Read(ref current) + 1) % gateways.Length);
        }

        outcome.Result?.Dispose();
    }

    private static async Task<TaskServerException> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string? type = null;
        var message = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken);
            type = problem.TryGetProperty("type", out var t) ? t.GetString() : null;
            var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : null;
            var title = problem.TryGetProperty("title", out var ti) ? ti.GetString() : null;
            message = $"{message}: {title} {detail}".TrimEnd();
        }
        catch (JsonException)
        {
            // Not problem+json: the status line is all there is to say.
        }

        return new TaskServerException((int)response.StatusCode, type, message);
    }
}
