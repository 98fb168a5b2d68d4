using System.Net;
using System.Text.Json;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>/health/live, /health/ready, /health/worker and /health/primary on each role, with their JSON bodies.</summary>
public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Each_role_answers_its_health_endpoints_as_specified()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gw"));
        await gateway.WaitUntilLiveAsync();
        using var http = new HttpClient();

        // A gateway with no worker is alive but not ready.
        var (status, body) = await GetAsync(http, gateway, "/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", Check(body, "workers").GetProperty("status").GetString());
        Assert.Equal("Healthy", Check(body, "database").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, gateway, "/health/live")).Status);

        await using var worker = NodeProcess.Start(ClusterSettings.For(database, "Worker", "w1"));
        await worker.WaitUntilLiveAsync();

        // A worker is ready with its database and Hangfire server; it never holds the primary lease.
        (status, body) = await GetAsync(http, worker, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["database", "worker"], body.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()).Order());
        Assert.True(Check(body, "worker").GetProperty("durationMs").GetDouble() >= 0);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, Check(body, "database").GetProperty("description").ValueKind); // details are for admin keys
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await GetAsync(http, worker, "/health/primary")).Status);

        // Once the gateway has probed the worker, it is ready too.
        await Eventually.HoldsAsync(async () => (await GetAsync(http, gateway, "/health/ready")).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(20), "the gateway to become ready");
        (_, body) = await GetAsync(http, gateway, "/health/ready");
        Assert.Equal(1, Check(body, "workers").GetProperty("data").GetProperty("healthy").GetInt32());
        Assert.True(body.GetProperty("availability").GetProperty("endpoints").GetProperty("ready").GetProperty("failed").GetInt64() >= 1);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, body.GetProperty("availability").GetProperty("lastFailure").ValueKind); // for admin keys only
    }

    [Fact]
    public async Task Primary_health_is_200_only_on_the_holder_of_the_lease()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var a = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gwa"));
        await using var b = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gwb"));
        await Task.WhenAll(a.WaitUntilLiveAsync(), b.WaitUntilLiveAsync());
        using var http = new HttpClient();

        var holder = await Eventually.ReturnsAsync(
            async () => (string?)await database.ScalarAsync("SELECT holder FROM taskserver.leases WHERE name = 'gateway-primary' AND expires_at > now()"),
            TimeSpan.FromSeconds(15),
            "one gateway to take the lease");
        var (primary, backup) = holder.StartsWith("gwa-", StringComparison.Ordinal) ? (a, b) : (b, a);

        var (status, body) = await GetAsync(http, primary, "/health/primary");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, Check(body, "primary").GetProperty("data").GetProperty("epoch").GetInt64());
        (status, body) = await GetAsync(http, backup, "/health/primary");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(primary.Url, Check(body, "primary").GetProperty("data").GetProperty("primaryUrl").GetString());
    }

    [Fact]
    public async Task Metrics_counters_move_under_load()
    {
        await using var cluster = await GatewayCluster.StartAsync(1);
        var workerId = await cluster.WorkerIdAsync("w1");
        using var worker = new HttpClient { BaseAddress = new Uri(cluster.Workers[0].Url) };
        var proxiedBefore = await BalancingTests.MetricAsync(cluster.Api.Http, "taskserver_proxy_requests_total", workerId);

        var ids = new List<Guid>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add(await cluster.Api.SubmitAcceptedAsync("""{"type":"echo","payload":"metrics"}"""));
        }

        foreach (var id in ids)
        {
            await cluster.Api.WaitForStatusAsync(id, "Succeeded");
        }

        Assert.Equal(proxiedBefore + 10, await BalancingTests.MetricAsync(cluster.Api.Http, "taskserver_proxy_requests_total", workerId));
        var text = await worker.GetStringAsync(new Uri("/metrics", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Contains("taskserver_tasks_submitted_total{otel_scope_name=\"TaskServer\",type=\"echo\"} 10", text, StringComparison.Ordinal);
        Assert.Contains("taskserver_tasks_succeeded_total{otel_scope_name=\"TaskServer\",type=\"echo\"} 10", text, StringComparison.Ordinal);
        Assert.Contains("taskserver_task_duration_seconds_count{otel_scope_name=\"TaskServer\",outcome=\"succeeded\",type=\"echo\"} 10", text, StringComparison.Ordinal);
        Assert.Contains("taskserver_uptime_seconds", text, StringComparison.Ordinal);
    }

    private static JsonElement Check(JsonElement body, string name) =>
        body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(HttpClient http, NodeProcess node, string path)
    {
        using var response = await http.GetAsync(new Uri(node.Url + path), TestContext.Current.CancellationToken);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, await TaskApi.ReadJsonAsync(response));
    }
}
