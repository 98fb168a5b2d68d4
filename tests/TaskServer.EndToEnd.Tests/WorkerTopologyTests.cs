using System.Net;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>Gateways and workers as separate processes, each test on its own database.</summary>
public sealed class WorkerTopologyTests
{
    [Fact]
    public async Task A_gateway_without_live_workers_answers_503_with_retry_after()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gw"));
        await gateway.WaitUntilLiveAsync();
        await GatewayCluster.WaitUntilPrimaryAsync(gateway);
        using var api = new TaskApi(gateway.Url);

        using var response = await api.SubmitAsync("""{"type":"echo","payload":1}""");

        await ApiContractTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "no-healthy-worker");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM taskserver.tasks"));
    }

    [Fact]
    public async Task A_worker_killed_mid_task_leaves_the_task_running_under_its_owner_and_attempt()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gw"));
        await using var worker = NodeProcess.Start(ClusterSettings.For(database, "Worker", "w1"));
        await Task.WhenAll(gateway.WaitUntilLiveAsync(), worker.WaitUntilLiveAsync());
        using var api = new TaskApi(gateway.Url);
        await StandaloneFixture.WaitUntilRoutingAsync(api);

        var id = await api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":120000}}""");
        var running = await api.WaitForStatusAsync(id, "Running");
        await worker.KillAsync();

        // Nothing can finish it now; what matters is that the record says whose run died and which attempt,
        // so the primary's sweeper can requeue it with a new attempt.
        var after = await api.GetAsync(id);
        Assert.Equal("Running", after.GetProperty("status").GetString());
        Assert.Equal(running.GetProperty("worker").GetString(), after.GetProperty("worker").GetString());
        Assert.StartsWith("w1-", after.GetProperty("worker").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, after.GetProperty("attempt").GetInt32());
        Assert.Equal(1, await database.CountAsync($"SELECT count(*) FROM taskserver.tasks WHERE id = '{id}' AND started_at IS NOT NULL"));
    }
}
