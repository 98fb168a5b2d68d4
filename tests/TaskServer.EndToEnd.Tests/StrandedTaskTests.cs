using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.States;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// A task left Running under a job that ended without its attempt ending: the job failed (a drain whose outcome
/// writes never landed, say) while the worker itself stays alive and heartbeating, so no dead-worker sweep will
/// ever take the task. The primary's stranded walk must.
/// </summary>
public sealed class StrandedTaskTests
{
    [Fact]
    public async Task A_running_task_whose_job_failed_is_requeued_and_runs()
    {
        await using var database = await PostgresDatabase.CreateAsync();

        // One slot, kept busy, so the stranded task is never claimed by the drain before the test strands it.
        await using var node = NodeProcess.Start(ClusterSettings.For(
            database,
            "Standalone",
            "stranded",
            ("Node:Capacity", "1"),
            ("Failover:StrandedCheckInterval", "00:00:01")));
        await node.WaitUntilLiveAsync();
        using var api = new TaskApi(node.Url);
        await StandaloneFixture.WaitUntilRoutingAsync(api);
        var busy = await api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":4000}}""");
        await api.WaitForStatusAsync(busy, "Running");
        var stranded = await api.SubmitAcceptedAsync("""{"type":"echo","payload":"stranded"}""");

        var storageOptions = new PostgreSqlStorageOptions { SchemaName = "hangfire", PrepareSchemaIfNecessary = false };
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(database.ConnectionString, storageOptions), storageOptions);

        // No filters: the test process's global ones (AutomaticRetry) would turn the failure into a retry.
        var hangfire = new BackgroundJobClient(storage, new JobFilterCollection());
        var failedJob = hangfire.Create(Job.FromExpression(() => Console.WriteLine("a drain that died")), new FailedState(new InvalidOperationException("outcomes not written")));
        var moved = await database.ScalarAsync(
            $"WITH s AS (UPDATE taskserver.tasks SET status = 'Running', started_at = now(), job_id = '{failedJob}' WHERE id = '{stranded}' AND status = 'Queued' RETURNING 1) SELECT count(*) FROM s");
        Assert.Equal(1L, moved);

        var task = await api.WaitForStatusAsync(stranded, "Succeeded", TimeSpan.FromSeconds(60));

        // The stranded run counts as an attempt, recorded in the history; the next ran on the same (live) worker.
        Assert.Equal(2, task.GetProperty("attempt").GetInt32());
        Assert.Equal("stranded", task.GetProperty("result").GetString());
        Assert.NotEqual(failedJob, (string)(await database.ScalarAsync($"SELECT job_id FROM taskserver.tasks WHERE id = '{stranded}'"))!);
        Assert.Equal("requeued", (string)(await database.ScalarAsync($"SELECT history->0->>'outcome' FROM taskserver.tasks WHERE id = '{stranded}'"))!);
        await api.WaitForStatusAsync(busy, "Succeeded");
    }
}
