using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>A worker stopped with SIGTERM, as a deploy stops it: a fault no client should notice.</summary>
public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task A_running_task_finishes_within_the_grace_as_its_first_attempt_and_the_worker_leaves_the_registry()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gw"));
        await using var worker = NodeProcess.Start(ClusterSettings.For(database, "Worker", "w1"));
        await Task.WhenAll(gateway.WaitUntilLiveAsync(), worker.WaitUntilLiveAsync());
        using var api = new TaskApi(gateway.Url);
        await StandaloneFixture.WaitUntilRoutingAsync(api);
        var id = await api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":3000},"maxAttempts":1}""");
        await api.WaitForStatusAsync(id, "Running");

        var exitCode = await worker.TerminateAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, exitCode);
        var task = await api.GetAsync(id);
        Assert.Equal("Succeeded", task.GetProperty("status").GetString());
        Assert.Equal(1, task.GetProperty("attempt").GetInt32());
        Assert.Equal(0L, await database.ScalarAsync("SELECT count(*) FROM taskserver.nodes WHERE role = 'Worker'"));
    }

    [Fact]
    public async Task A_task_still_running_at_the_end_of_the_grace_is_handed_back_unspent_and_runs_on_another_worker()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gw"));
        await using var leaving = NodeProcess.Start(ClusterSettings.For(database, "Worker", "w1", ("Execution:ShutdownGrace", "00:00:01")));
        await Task.WhenAll(gateway.WaitUntilLiveAsync(), leaving.WaitUntilLiveAsync());
        using var api = new TaskApi(gateway.Url);
        await StandaloneFixture.WaitUntilRoutingAsync(api);
        // Far longer than the second worker's start and the first one's deregistration delay and grace together, on
        // any machine: the run is stopped by the shutdown, never finished before it.
        var id = await api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":30000},"maxAttempts":1}""");
        var running = await api.WaitForStatusAsync(id, "Running");
        await using var staying = NodeProcess.Start(ClusterSettings.For(database, "Worker", "w2"));
        await staying.WaitUntilLiveAsync();
        await Eventually.HoldsAsync(
            async () => (long)(await database.ScalarAsync("SELECT count(*) FROM taskserver.nodes WHERE role = 'Worker'"))! == 2,
            TimeSpan.FromSeconds(30),
            "the second worker to register");

        await leaving.TerminateAsync(TimeSpan.FromSeconds(30));
        var first = running.GetProperty("worker").GetString();
        var task = await api.WaitForAsync(
            id,
            t => t.GetProperty("status").GetString() == "Running" && t.GetProperty("worker").GetString() != first,
            $"task {id} to run again on another worker",
            TimeSpan.FromSeconds(30));

        // maxAttempts 1 and running again: the stopped run was handed back, not counted as a lost attempt.
        Assert.Equal(1, task.GetProperty("attempt").GetInt32());
        Assert.True(!task.TryGetProperty("history", out var history) || history.GetArrayLength() == 0, $"attempts ended: {history}");
    }
}
