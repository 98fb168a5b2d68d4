using System.Net;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// The failover scenarios of DESIGN.md on real processes killed with real signals. Timings are not
/// asserted here (the drills measure them); the invariants are: no acknowledged task lost, no side
/// effect repeated by one attempt, one primary per epoch, no write of a deposed primary.
/// </summary>
public sealed class FailoverScenarioTests
{
    [Fact]
    public async Task Killing_the_primary_under_load_loses_no_acknowledged_task()
    {
        await using var cluster = await FailoverCluster.StartAsync(workers: 1);
        using var sink = new CallbackSink();
        var stream = new SteadySubmissions(cluster.Client, sink);

        var load = stream.RunAsync(TimeSpan.FromSeconds(6), TimeSpan.FromMilliseconds(50));
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await cluster.Alpha.KillAsync();
        await load;

        var finals = await stream.DrainAsync(TimeSpan.FromSeconds(60));
        Assert.NotEmpty(finals);
        Assert.All(finals, t => Assert.Equal("Succeeded", t.Status));
        Assert.Empty(stream.Errors);
        AssertNoAttemptRepeatedItsSideEffect(sink, finals.Select(t => t.Id));
        var betaId = await cluster.NodeIdAsync("beta");
        Assert.Equal(1, await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.failovers WHERE new_holder = '{betaId}' AND epoch = 2"));
        Assert.Equal(betaId, await cluster.Database.ScalarAsync("SELECT holder FROM taskserver.leases WHERE name = 'gateway-primary'"));
    }

    [Fact]
    public async Task A_killed_workers_running_tasks_are_requeued_and_succeed()
    {
        await using var cluster = await FailoverCluster.StartAsync(workers: 2);
        var victimId = await cluster.NodeIdAsync("w1");
        var ids = new List<Guid>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add((await cluster.Client.SubmitAsync("sleep", new { ms = 3000 }, cancellationToken: TestContext.Current.CancellationToken)).Id);
        }

        await Eventually.HoldsAsync(
            async () => await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.tasks WHERE worker = '{victimId}' AND status = 'Running'") > 0,
            TimeSpan.FromSeconds(15),
            "a task running on w1");
        await cluster.Workers[0].KillAsync();

        // Read after the kill (the dead worker changes nothing more, and the sweeper waits out its heartbeat):
        // on a slow machine some of w1's tasks finish before the kill, and those stay w1's.
        var orphaned = await cluster.Database.ScalarAsync(
            $"SELECT coalesce(string_agg(id::text || ':' || status, ','), '') FROM taskserver.tasks WHERE worker = '{victimId}' AND status IN ('Queued', 'Running')");
        var orphanedStatus = ((string)orphaned!).Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split(':'))
            .ToDictionary(parts => Guid.Parse(parts[0]), parts => parts[1]);
        Assert.Contains("Running", orphanedStatus.Values);

        var finals = new List<TaskServer.Client.TaskInfo>();
        foreach (var id in ids)
        {
            finals.Add(await cluster.Client.WaitAsync(id, cancellationToken: TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken));
        }

        Assert.All(finals, t => Assert.Equal("Succeeded", t.Status));
        var requeued = finals.Where(t => orphanedStatus.ContainsKey(t.Id)).ToList();
        Assert.All(requeued, t => Assert.NotEqual(victimId, t.Worker));

        // A run cut short by the kill counts as an attempt; a task still waiting in w1's queue keeps its number.
        Assert.All(requeued, t => Assert.Equal(orphanedStatus[t.Id] == "Running" ? 2 : 1, t.Attempt));
        Assert.Contains($"from {victimId} onto", cluster.Alpha.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_primary_paused_past_its_lease_wakes_as_a_backup_and_changes_nothing()
    {
        await using var cluster = await FailoverCluster.StartAsync(workers: 1);
        var alphaId = await cluster.NodeIdAsync("alpha");
        var betaId = await cluster.NodeIdAsync("beta");
        var victimId = await cluster.NodeIdAsync("w1");
        var ids = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add((await cluster.Client.SubmitAsync("sleep", new { ms = 2000 }, cancellationToken: TestContext.Current.CancellationToken)).Id);
        }

        // While alpha sleeps, beta takes over; a worker dies too, so there is work a sweep would do.
        await cluster.Alpha.PauseAsync();
        await cluster.Workers[0].KillAsync();
        await Eventually.HoldsAsync(
            async () => await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.leases WHERE holder = '{betaId}' AND epoch = 2") == 1,
            TimeSpan.FromSeconds(20),
            "beta to take the lease at epoch 2");
        await Eventually.HoldsAsync(
            async () => await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.tasks WHERE worker = '{victimId}' AND status IN ('Queued', 'Running')") == 0,
            TimeSpan.FromSeconds(30),
            "beta to requeue the dead worker's tasks");
        await cluster.Alpha.ResumeAsync();

        using var http = new HttpClient();
        await Eventually.HoldsAsync(
            async () => (await http.GetAsync(new Uri(cluster.Alpha.Url + "/health/ready"), TestContext.Current.CancellationToken)).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(20),
            "alpha to answer again");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri(cluster.Alpha.Url + "/health/primary"), TestContext.Current.CancellationToken)).StatusCode);
        foreach (var id in ids)
        {
            Assert.Equal("Succeeded", (await cluster.Client.WaitAsync(id, cancellationToken: TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken)).Status);
        }

        // One primary per epoch, and nothing done by alpha after its epoch ended.
        Assert.Equal(betaId, await cluster.Database.ScalarAsync("SELECT holder FROM taskserver.leases WHERE name = 'gateway-primary'"));
        Assert.Equal(1, await cluster.Database.CountAsync("SELECT count(*) FROM taskserver.failovers WHERE epoch = 2"));
        Assert.Equal(0, await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.failovers WHERE new_holder = '{alphaId}' AND epoch > 1"));
        Assert.Contains("lapsed without a renewal", cluster.Alpha.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("(epoch 1)", cluster.Alpha.Output.Split("lapsed without a renewal")[^1], StringComparison.Ordinal);
        Assert.Contains($"from {victimId} onto", cluster.Beta.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_primary_cut_off_from_its_database_steps_down_and_nothing_is_lost()
    {
        TcpRelay? relay = null;
        await using var cluster = await FailoverCluster.StartAsync(workers: 1, alphaSettings: database =>
        {
            var direct = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString);
            relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, direct.Port));
            var viaRelay = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = relay.Port };
            return ClusterSettings.For(database, "Standalone", "alpha", ("Storage:ConnectionString", viaRelay.ConnectionString));
        });
        await using var relayScope = relay!;
        using var sink = new CallbackSink();
        var stream = new SteadySubmissions(cluster.Client, sink);
        var betaId = await cluster.NodeIdAsync("beta");

        var load = stream.RunAsync(TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(50));
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await relayScope.CutAsync();
        await Eventually.HoldsAsync(
            async () => await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.leases WHERE holder = '{betaId}'") == 1,
            TimeSpan.FromSeconds(20),
            "beta to take over from the cut-off primary");
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        relayScope.Restore();
        await load;

        IReadOnlyList<TaskServer.Client.TaskInfo> finals;
        try
        {
            finals = await stream.DrainAsync(TimeSpan.FromSeconds(90));
        }
        catch (Xunit.Sdk.XunitException e)
        {
            var stuck = await cluster.Database.ScalarAsync(
                "SELECT string_agg(t.id || ' owner=' || t.worker || ' attempt=' || t.attempt || ' due=' || t.due_at::text, '; ') FROM taskserver.tasks t WHERE t.status IN ('Queued', 'Running')");
            var nodes = await cluster.Database.ScalarAsync("SELECT string_agg(node_id || ' age ' || (clock_timestamp() - last_seen)::text || ' draining ' || draining, '; ') FROM taskserver.nodes");
            throw new Xunit.Sdk.XunitException($"{e.Message}\nactive: {stuck}\nnodes: {nodes}\n{cluster.LogTails()}");
        }

        Assert.All(finals, t => Assert.Equal("Succeeded", t.Status));
        Assert.Empty(stream.Errors);
        AssertNoAttemptRepeatedItsSideEffect(sink, finals.Select(t => t.Id));
        Assert.Contains("Stepped down from epoch 1", cluster.Alpha.Output, StringComparison.Ordinal);

        // One primary per epoch: no epoch was granted twice, and the cut-off alpha took none after its first.
        Assert.Equal(0, await cluster.Database.CountAsync("SELECT count(*) FROM (SELECT epoch FROM taskserver.failovers GROUP BY epoch HAVING count(*) > 1) twice"));
        Assert.Equal(1, await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.failovers WHERE new_holder = '{betaId}' AND epoch = 2"));
        Assert.Equal(0, await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.failovers WHERE new_holder <> '{betaId}' AND epoch > 1"));
        using var http = new HttpClient();
        await Eventually.HoldsAsync(
            async () => (await http.GetAsync(new Uri(cluster.Alpha.Url + "/health/ready"), TestContext.Current.CancellationToken)).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30),
            "alpha to recover as a backup once its database is back");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri(cluster.Alpha.Url + "/health/primary"), TestContext.Current.CancellationToken)).StatusCode);
    }

    /// <summary>
    /// A side effect may repeat only when a later attempt ran after an earlier one really did it (a
    /// requeue after a crash): every attempt of a task calls back at most once.
    /// </summary>
    private static void AssertNoAttemptRepeatedItsSideEffect(CallbackSink sink, IEnumerable<Guid> tasks)
    {
        var calls = sink.Calls.GroupBy(c => c.GetProperty("id").GetGuid()).ToDictionary(g => g.Key, g => g.Select(c => c.GetProperty("attempt").GetInt32()).ToList());
        foreach (var id in tasks)
        {
            Assert.True(calls.TryGetValue(id, out var attempts), $"task {id} succeeded without its callback");
            Assert.Equal(attempts.Distinct().Count(), attempts.Count);
        }
    }
}
