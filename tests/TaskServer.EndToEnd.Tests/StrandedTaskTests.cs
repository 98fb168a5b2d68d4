using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.States;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// A task whose Hangfire job ends before the job could start its attempt: under overload PostgreSQL refused
/// connections (53300) and the job failed before the task moved, leaving an acknowledged task Queued forever.
/// </summary>
public sealed class StrandedTaskTests
{
    [Fact]
    public async Task A_queued_task_whose_job_failed_before_it_started_is_requeued_and_runs()
    {
        await using var database = await PostgresDatabase.CreateAsync();

        // One Hangfire worker, kept busy, so the test decides the fate of the next job before any worker fetches it.
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
        var failedJob = (string)(await database.ScalarAsync($"SELECT job_id FROM taskserver.tasks WHERE id = '{stranded}'"))!;
        var storageOptions = new PostgreSqlStorageOptions { SchemaName = "hangfire", PrepareSchemaIfNecessary = false };
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(database.ConnectionString, storageOptions), storageOptions);

        // No filters: the test process's global ones (AutomaticRetry) would turn the failure into a retry.
        var hangfire = new BackgroundJobClient(storage, new JobFilterCollection());
        Assert.True(hangfire.ChangeState(failedJob, new FailedState(new InvalidOperationException("too many clients already")), EnqueuedState.StateName));

        var task = await api.WaitForStatusAsync(stranded, "Succeeded", TimeSpan.FromSeconds(60));

        Assert.Equal(1, task.GetProperty("attempt").GetInt32());
        Assert.Equal("stranded", task.GetProperty("result").GetString());
        var jobNow = (string)(await database.ScalarAsync($"SELECT job_id FROM taskserver.tasks WHERE id = '{stranded}'"))!;
        Assert.NotEqual(failedJob, jobNow);
        using var connection = storage.GetConnection();
        Assert.Equal(DeletedState.StateName, connection.GetJobData(failedJob)?.State);
        Assert.Equal(SucceededState.StateName, connection.GetJobData(jobNow)?.State);
        await api.WaitForStatusAsync(busy, "Succeeded");
    }
}
