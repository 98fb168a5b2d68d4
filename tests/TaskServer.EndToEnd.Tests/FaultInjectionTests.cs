using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

public sealed class FaultInjectionTests
{
    [Fact]
    public async Task Faults_are_off_unless_enabled()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", "plain"));
        await node.WaitUntilLiveAsync();
        using var http = Admin(node);

        using var response = await http.PostAsJsonAsync("/admin/faults", new { fault = "crash" }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(node.HasExited);
    }

    [Fact]
    public async Task Faults_enabled_in_production_without_the_second_switch_stop_the_node_at_start_up()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", "refused", ("Faults:Enabled", "true")));

        await Eventually.HoldsAsync(() => Task.FromResult(node.HasExited), TimeSpan.FromSeconds(60), "the node to refuse to start");

        Assert.Contains("Faults:AllowInProduction", node.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_fault_does_what_it_says_and_only_for_operators()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", "faulty", ("Faults:Enabled", "true"), ("Faults:AllowInProduction", "true")));
        await node.WaitUntilLiveAsync();
        using var api = new TaskApi(node.Url);
        await StandaloneFixture.WaitUntilRoutingAsync(api);
        using var admin = Admin(node);
        var ct = TestContext.Current.CancellationToken;

        using (var client = await api.Http.PostAsJsonAsync("/admin/faults", new { fault = "crash" }, ct))
        {
            await ApiContractTests.AssertProblemAsync(client, HttpStatusCode.Forbidden, "forbidden");
        }

        using (var anonymous = new HttpClient { BaseAddress = new Uri(node.Url) })
        using (var refused = await anonymous.PostAsJsonAsync("/admin/faults", new { fault = "crash" }, ct))
        {
            await ApiContractTests.AssertProblemAsync(refused, HttpStatusCode.Unauthorized, "admin-required");
        }

        await SetAsync(admin, new { fault = "latency", value = 400 });
        var clock = Stopwatch.StartNew();
        (await api.Http.GetAsync(new Uri("/tasks?limit=1", UriKind.Relative), ct)).Dispose();
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(400), $"took {clock.Elapsed}");

        await SetAsync(admin, new { fault = "clear" });
        await SetAsync(admin, new { fault = "error-rate", value = 1 });
        using (var failed = await api.Http.GetAsync(new Uri("/tasks?limit=1", UriKind.Relative), ct))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        await SetAsync(admin, new { fault = "clear" });
        await SetAsync(admin, new { fault = "incorrect" });
        var id = await api.SubmitAcceptedAsync("""{"type":"hash","payload":{"data":"abc"},"maxAttempts":1}""");
        var wrong = await api.WaitForStatusAsync(id, "Failed");
        Assert.Contains("failed verification", wrong.GetProperty("error").GetString(), StringComparison.Ordinal);

        await SetAsync(admin, new { fault = "pause-heartbeats" });
        await Eventually.HoldsAsync(
            async () => await database.CountAsync("SELECT count(*) FROM taskserver.nodes WHERE node_id LIKE 'faulty-%' AND last_seen < now() - interval '3 seconds'") == 1,
            TimeSpan.FromSeconds(15),
            "the node's heartbeat to stop");
        Assert.False(node.HasExited);

        try
        {
            (await admin.PostAsJsonAsync("/admin/faults", new { fault = "crash" }, ct)).Dispose();
        }
        catch (HttpRequestException)
        {
            // The node may die before it answers: that is the fault.
        }

        await Eventually.HoldsAsync(() => Task.FromResult(node.HasExited), TimeSpan.FromSeconds(10), "the node to crash");
    }

    private static async Task SetAsync(HttpClient admin, object fault)
    {
        using var response = await admin.PostAsJsonAsync("/admin/faults", fault, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static HttpClient Admin(NodeProcess node)
    {
        var http = new HttpClient { BaseAddress = new Uri(node.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + ClusterSettings.AdminKey)));
        return http;
    }
}
