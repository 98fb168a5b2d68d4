using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// The three ways hot-path review 2 found for an accepted task to stay non-final forever, each reproduced on a real
/// node by putting the task table in the state the interleaving leaves it in:
/// H1, a task owned by an identity that is not in the registry (the rescue used to walk nodes, not tasks);
/// H2, a running task whose worker is lost during its last attempt (a requeue used to grant another attempt);
/// H3, a task Running under a live, busy worker that no attempt runs (a claim whose reply was lost; the rescue used to
/// wait for the drain's Hangfire job to end, and under load it never did).
/// </summary>
public sealed class OrphanedTaskTests
{
    [Fact]
    public async Task H1_a_task_owned_by_a_node_that_never_registered_is_rescued_and_runs()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = await StartAsync(database, "h1", capacity: 1);
        using var api = new TaskApi(node.Url);
        var busy = await api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":3000}}""");
        await api.WaitForStatusAsync(busy, "Running");
        var orphan = await api.SubmitAcceptedAsync("""{"type":"echo","payload":"h1"}""");
        Assert.Equal(1L, await database.ScalarAsync(
            $"WITH s AS (UPDATE taskserver.tasks SET worker = 'never-registered' WHERE id = '{orphan}' AND status = 'Queued' RETURNING 1) SELECT count(*) FROM s"));

        var task = await api.WaitForStatusAsync(orphan, "Succeeded", TimeSpan.FromSeconds(30));

        Assert.Equal(1, task.GetProperty("attempt").GetInt32());
        Assert.NotEqual("never-registered", task.GetProperty("worker").GetString());
    }

    [Fact]
    public async Task H2_a_running_task_whose_worker_is_lost_during_its_last_attempt_fails_and_is_not_run_again()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = await StartAsync(database, "h2", capacity: 1);
        using var api = new TaskApi(node.Url);
        var busy = await api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":3000}}""");
        await api.WaitForStatusAsync(busy, "Running");
        var once = await api.SubmitAcceptedAsync("""{"type":"echo","payload":"once","maxAttempts":1}""");
        Assert.Equal(1L, await database.ScalarAsync(
            $"WITH s AS (UPDATE taskserver.tasks SET status = 'Running', started_at = now(), worker = 'lost-worker' WHERE id = '{once}' AND status = 'Queued' RETURNING 1) SELECT count(*) FROM s"));

        var task = await api.WaitForStatusAsync(once, "Failed", TimeSpan.FromSeconds(30));

        Assert.Equal(1, task.GetProperty("attempt").GetInt32());
        Assert.Equal("worker lost-worker was lost during attempt 1", task.GetProperty("error").GetString());
    }

    [Fact]
    public async Task H3_a_task_running_under_a_busy_live_worker_with_no_attempt_running_it_is_adopted()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var node = await StartAsync(database, "h3", capacity: 2, ("Execution:OrphanCheckInterval", "00:00:01"));
        using var api = new TaskApi(node.Url);

        // Busy for the whole test, so the worker keeps claiming and is never idle or silent.
        var busy = await api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":8000}}""");
        await api.WaitForStatusAsync(busy, "Running");
        var orphan = Guid.CreateVersion7();
        await database.ScalarAsync(
            $"""
            INSERT INTO taskserver.tasks (id, type, payload, status, attempt, attempt_token, max_attempts, worker, owner, created_at, started_at, due_at, timeout_ms)
            SELECT '{orphan}', 'echo', '"h3"', 'Running', 1, gen_random_uuid(), 1, worker, owner, now(), now(), now(), 60000
            FROM taskserver.tasks WHERE id = '{busy}' RETURNING 1
            """);

        var task = await api.WaitForStatusAsync(orphan, "Succeeded", TimeSpan.FromSeconds(6));

        Assert.Equal(1, task.GetProperty("attempt").GetInt32());
        Assert.Equal("h3", task.GetProperty("result").GetString());
        Assert.Equal("Running", (await api.GetAsync(busy)).GetProperty("status").GetString());
    }

    /// <param name="capacity">One slot, kept busy, leaves a submitted task Queued for the test to rewrite.</param>
    private static async Task<NodeProcess> StartAsync(PostgresDatabase database, string name, int capacity, params (string Key, string Value)[] settings)
    {
        var node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", name, [("Node:Capacity", capacity.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. settings]));
        await node.WaitUntilLiveAsync();
        using var api = new TaskApi(node.Url);
        await StandaloneFixture.WaitUntilRoutingAsync(api);
        return node;
    }
}
