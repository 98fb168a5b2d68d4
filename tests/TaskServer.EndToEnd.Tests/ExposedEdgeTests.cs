using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// What makes a node safe to expose, on real processes: retention, the header the gateway strips, the backup's gate,
/// per-client rate limits, the dashboard's antiforgery and read-only viewer, the metrics key, callbacks that do not
/// follow redirects.
/// </summary>
public sealed partial class ExposedEdgeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_finished_task_expires_after_the_retention_age_while_running_and_queued_ones_stay()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = NodeProcess.Start(ClusterSettings.For(
            database, "Standalone", "retained",
            ("Node:Capacity", "1"), ("Retention:FinishedTaskAge", "00:00:02"), ("Retention:Interval", "00:00:00.200")));
        await node.WaitUntilLiveAsync();
        using var api = new TaskApi(node.Url);
        await StandaloneFixture.WaitUntilRoutingAsync(api);

        var finished = await api.SubmitAcceptedAsync("""{"type":"echo","payload":"expires"}""");
        await api.WaitForStatusAsync(finished, "Succeeded");
        var running = await api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":600000}}""");
        await api.WaitForStatusAsync(running, "Running");
        var queued = await api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":600000}}""");

        await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await api.Http.GetAsync(new Uri($"/tasks/{finished}", UriKind.Relative), Ct);
                return response.StatusCode == HttpStatusCode.NotFound;
            },
            TimeSpan.FromSeconds(30),
            "the finished task to expire");

        Assert.Equal("Running", (await api.GetAsync(running)).GetProperty("status").GetString());
        Assert.Equal("Queued", (await api.GetAsync(queued)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_gateway_forwards_with_the_cluster_secret_and_never_the_clients_key()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gw", ("LoadBalancing:HealthProbeInterval", "00:00:00.300")));
        await gateway.WaitUntilLiveAsync();
        await GatewayCluster.WaitUntilPrimaryAsync(gateway);
        using var worker = new RecordingWorker(database);
        using var api = new TaskApi(gateway.Url);

        await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await api.SubmitAsync("""{"type":"echo","payload":"forwarded"}""");
                return !worker.Submissions.IsEmpty;
            },
            TimeSpan.FromSeconds(30),
            "the gateway to forward a submission to the recording worker");

        var headers = worker.Submissions.First();
        Assert.Null(headers["Authorization"]);
        Assert.Equal(ClusterSettings.ClusterSecret, headers["X-Cluster-Secret"]);
        Assert.False(string.IsNullOrEmpty(headers["X-TaskServer-Client"]));
        Assert.DoesNotContain(ClusterSettings.ApiKey, string.Join('\n', headers.AllKeys.Select(key => headers[key])), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_backup_refuses_tasks_in_any_case_of_the_path_and_only_after_authentication()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var alpha = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "alpha"));
        await alpha.WaitUntilLiveAsync();
        await GatewayCluster.WaitUntilPrimaryAsync(alpha);
        await using var beta = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "beta"));
        await beta.WaitUntilLiveAsync();
        using var client = new TaskApi(beta.Url);
        using var anonymous = new TaskApi(beta.Url, apiKey: null);

        await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await PostAsync(client, "/TASKS");
                return response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.Contains(PrimaryHeader);
            },
            TimeSpan.FromSeconds(30),
            "the backup to name the primary");
        using var upper = await PostAsync(client, "/TASKS");
        using var mixed = await PostAsync(client, "/Tasks");
        using var refused = await PostAsync(anonymous, "/TASKS");

        await ApiContractTests.AssertProblemAsync(upper, HttpStatusCode.ServiceUnavailable, "not-primary");
        await ApiContractTests.AssertProblemAsync(mixed, HttpStatusCode.ServiceUnavailable, "not-primary");
        Assert.Equal(alpha.Url, upper.Headers.GetValues(PrimaryHeader).Single().TrimEnd('/'));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.False(refused.Headers.Contains(PrimaryHeader));
    }

    [Fact]
    public async Task A_clients_burst_is_429_with_retry_after_and_another_client_is_not_limited_by_it()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", "limited", ("Limits:PermitsPerSecond", "1"), ("Limits:Burst", "2")));
        await node.WaitUntilLiveAsync();
        await GatewayCluster.WaitUntilPrimaryAsync(node);
        using var first = new TaskApi(node.Url);
        using var second = new TaskApi(node.Url, ClusterSettings.OtherApiKey);

        HttpResponseMessage? limited = null;
        for (var i = 0; i < 100 && limited is null; i++)
        {
            var response = await first.Http.GetAsync(new Uri("/tasks?limit=1", UriKind.Relative), Ct);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                response.Dispose();
            }
        }

        using var other = await second.Http.GetAsync(new Uri("/tasks?limit=1", UriKind.Relative), Ct);

        Assert.NotNull(limited);
        using (limited)
        {
            Assert.NotNull(limited.Headers.RetryAfter);
            await ApiContractTests.AssertProblemAsync(limited, HttpStatusCode.TooManyRequests, "rate-limited");
        }

        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task A_request_still_running_after_the_request_timeout_is_answered_504_problem()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = NodeProcess.Start(ClusterSettings.For(
            database, "Standalone", "slow", ("Limits:RequestTimeout", "00:00:01"), ("Faults:Enabled", "true"), ("Faults:AllowInProduction", "true")));
        await node.WaitUntilLiveAsync();
        await GatewayCluster.WaitUntilPrimaryAsync(node);
        using var api = new TaskApi(node.Url);
        using var admin = new HttpClient { BaseAddress = new Uri(node.Url) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.AdminKey);
        using (var fast = await api.Http.GetAsync(new Uri("/tasks?limit=1", UriKind.Relative), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, fast.StatusCode);
        }

        // Every request now takes 3 s on this node; the node gives up on each after 1 s.
        using (var slowed = await admin.PostAsJsonAsync("/admin/faults", new { fault = "latency", value = 3000 }, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, slowed.StatusCode);
        }

        using var timedOut = await api.Http.GetAsync(new Uri("/tasks?limit=1", UriKind.Relative), Ct);

        // Had the request run its 3 s to the end, it would have been a 200.
        await ApiContractTests.AssertProblemAsync(timedOut, HttpStatusCode.GatewayTimeout, "request-timeout");
    }

    [Fact]
    public async Task Dashboard_actions_need_the_antiforgery_token_and_an_admin_and_a_viewer_only_looks()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", "dashboard"));
        await node.WaitUntilLiveAsync();
        using var admin = Dashboard(node, ClusterSettings.AdminKey);
        using var viewer = Dashboard(node, ClusterSettings.ViewerKey);

        var adminToken = await AntiforgeryAsync(admin.Http);
        var viewerToken = await AntiforgeryAsync(viewer.Http);
        using var viewerPage = await viewer.Http.GetAsync(new Uri("/hangfire/servers", UriKind.Relative), Ct);
        using var withoutToken = await DeleteEnqueuedAsync(admin.Http, token: null);
        using var adminWithToken = await DeleteEnqueuedAsync(admin.Http, adminToken);
        using var viewerWithToken = await DeleteEnqueuedAsync(viewer.Http, viewerToken);

        Assert.Equal(HttpStatusCode.OK, viewerPage.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, withoutToken.StatusCode);
        Assert.True(adminWithToken.IsSuccessStatusCode, $"the admin's action with the token was {(int)adminWithToken.StatusCode}");
        Assert.False(viewerWithToken.IsSuccessStatusCode, "a viewer's action was carried out");
        Assert.True(viewerWithToken.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"the viewer's action was {(int)viewerWithToken.StatusCode}");
    }

    [Fact]
    public async Task With_a_metrics_key_a_scrape_needs_it()
    {
        const string MetricsKey = "metrics-key-for-tests-0001";
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", "scraped", ("Metrics:Key", MetricsKey)));
        await node.WaitUntilLiveAsync();
        using var anonymous = new HttpClient { BaseAddress = new Uri(node.Url) };
        using var wrong = new HttpClient { BaseAddress = new Uri(node.Url) };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.ApiKey);
        using var scraper = new HttpClient { BaseAddress = new Uri(node.Url) };
        scraper.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsKey);

        using var refused = await anonymous.GetAsync(new Uri("/metrics", UriKind.Relative), Ct);
        using var wrongKey = await wrong.GetAsync(new Uri("/metrics", UriKind.Relative), Ct);
        using var scraped = await scraper.GetAsync(new Uri("/metrics", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.NotEmpty(refused.Headers.WwwAuthenticate);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
    }

    [Fact]
    public async Task A_callback_does_not_follow_a_redirect()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", "callbacks"));
        await node.WaitUntilLiveAsync();
        using var api = new TaskApi(node.Url);
        await StandaloneFixture.WaitUntilRoutingAsync(api);
        using var target = new CallbackSink();
        using var redirecting = new CallbackSink(redirectTo: target.Url);

        var id = await api.SubmitAcceptedAsync($$"""{"type":"callback","payload":{"url":"{{redirecting.Url}}"},"maxAttempts":1}""");
        var task = await api.WaitForStatusAsync(id, "Failed");

        Assert.Single(redirecting.Calls);
        Assert.Equal(0, target.Hits);
        Assert.Contains("302", task.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    private const string PrimaryHeader = "X-TaskServer-Primary";

    private static async Task<HttpResponseMessage> PostAsync(TaskApi api, string path)
    {
        using var body = new StringContent("""{"type":"echo","payload":1}""", Encoding.UTF8, "application/json");
        return await api.Http.PostAsync(new Uri(path, UriKind.Relative), body, Ct);
    }

    private static DashboardClient Dashboard(NodeProcess node, string key)
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        var http = new HttpClient(handler) { BaseAddress = new Uri(node.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("user:" + key)));
        return new DashboardClient(http);
    }

    /// <summary>The header and token Hangfire's pages carry for their forms (and the cookie, kept by the handler).</summary>
    private static async Task<(string Header, string Token)> AntiforgeryAsync(HttpClient http)
    {
        var page = await http.GetStringAsync(new Uri("/hangfire/jobs/enqueued", UriKind.Relative), Ct);
        var header = CsrfHeader().Match(page);
        var token = CsrfToken().Match(page);
        Assert.True(header.Success && token.Success, "the dashboard page carries no antiforgery token");
        return (header.Groups[1].Value, WebUtility.HtmlDecode(token.Groups[1].Value));
    }

    private static async Task<HttpResponseMessage> DeleteEnqueuedAsync(HttpClient http, (string Header, string Token)? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hangfire/jobs/enqueued/delete")
        {
            Content = new FormUrlEncodedContent([new KeyValuePair<string, string>("jobs[]", "999999999")]),
        };
        if (token is { } presented)
        {
            request.Headers.Add(presented.Header, presented.Token);
        }

        return await http.SendAsync(request, Ct);
    }

    [GeneratedRegex("""<meta name="csrf-header" content="([^"]+)"\s*/?>""")]
    private static partial Regex CsrfHeader();

    [GeneratedRegex("""<meta name="csrf-token" content="([^"]+)"\s*/?>""")]
    private static partial Regex CsrfToken();

    private sealed class DashboardClient(HttpClient http) : IDisposable
    {
        public HttpClient Http => http;

        public void Dispose() => http.Dispose();
    }

    /// <summary>
    /// A worker the test plays itself, registered (and heartbeating) in the node registry: it answers the gateway's
    /// health probes and records the headers of every submission forwarded to it.
    /// </summary>
    private sealed class RecordingWorker : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly CancellationTokenSource stop = new();
        private readonly Task serving;
        private readonly Task heartbeating;

        public RecordingWorker(PostgresDatabase database)
        {
            var url = $"http://127.0.0.1:{FreePort.Next()}/";
            listener.Prefixes.Add(url);
            listener.Start();
            serving = Task.Run(ServeAsync);
            heartbeating = Task.Run(() => HeartbeatAsync(database, url.TrimEnd('/')));
        }

        public ConcurrentQueue<System.Collections.Specialized.NameValueCollection> Submissions { get; } = new();

        public void Dispose()
        {
            stop.Cancel();
            listener.Close();
            _ = serving.Exception;
            _ = heartbeating.Exception;
            stop.Dispose();
        }

        private async Task HeartbeatAsync(PostgresDatabase database, string url)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(300));
            do
            {
                await database.ExecuteAsync(
                    $"""
                    INSERT INTO taskserver.nodes (node_id, role, url, queued, running, capacity, last_seen)
                    VALUES ('recorder-1', 'Worker', '{url}', 0, 0, 8, clock_timestamp())
                    ON CONFLICT (node_id) DO UPDATE SET last_seen = clock_timestamp()
                    """);
            }
            while (await timer.WaitForNextTickAsync(stop.Token));
        }

        private async Task ServeAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                if (context.Request.Url?.AbsolutePath == "/internal/tasks")
                {
                    Submissions.Enqueue(new System.Collections.Specialized.NameValueCollection(context.Request.Headers));
                    context.Response.StatusCode = 503;
                }
                else
                {
                    context.Response.StatusCode = 200;
                }

                context.Response.Close();
            }
        }
    }
}
