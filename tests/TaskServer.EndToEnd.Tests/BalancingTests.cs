using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;

namespace TaskServer.EndToEnd.Tests;

public sealed class BalancingTests
{
    [Fact]
    public async Task Round_robin_spreads_300_tasks_over_3_workers_within_ten_percent()
    {
        await using var cluster = await GatewayCluster.StartAsync(3, ("LoadBalancing:Policy", "RoundRobin"));

        for (var i = 0; i < 300; i++)
        {
            await cluster.Api.SubmitAcceptedAsync("""{"type":"echo","payload":{"batch":"round-robin"}}""");
        }

        foreach (var name in new[] { "w1", "w2", "w3" })
        {
            var count = await cluster.Database.CountAsync(
                $"SELECT count(*) FROM taskserver.tasks WHERE payload->>'batch' = 'round-robin' AND worker LIKE '{name}-%'");
            Assert.InRange(count, 90, 110);
        }
    }

    [Fact]
    public async Task Least_load_sends_new_work_away_from_a_worker_busy_with_long_tasks()
    {
        await using var cluster = await GatewayCluster.StartAsync(3, ("LoadBalancing:Policy", "LeastLoad"));
        var busy = cluster.Workers[0];
        var busyId = await cluster.WorkerIdAsync("w1");

        // Straight to w1's intake, as a gateway would send them: 20 one-minute sleeps on a capacity of 4.
        using var intake = new HttpClient { BaseAddress = new Uri(busy.InternalUrl) };
        intake.DefaultRequestHeaders.Add("X-Cluster-Secret", ClusterSettings.ClusterSecret);
        for (var i = 0; i < 20; i++)
        {
            using var response = await intake.PostAsJsonAsync("/internal/tasks", new { type = "sleep", payload = new { ms = 60_000 } }, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await TaskServer.Testing.Eventually.HoldsAsync(
            async () => (await MetricAsync(cluster.Api.Http, "taskserver_worker_queued", busyId)) >= 10,
            TimeSpan.FromSeconds(15),
            "the gateway to see w1's backlog");

        for (var i = 0; i < 20; i++)
        {
            await cluster.Api.SubmitAcceptedAsync("""{"type":"echo","payload":{"batch":"least-load"}}""");
        }

        Assert.Equal(0, await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.tasks WHERE payload->>'batch' = 'least-load' AND worker = '{busyId}'"));
        Assert.Equal(20, await cluster.Database.CountAsync("SELECT count(*) FROM taskserver.tasks WHERE payload->>'batch' = 'least-load'"));
    }

    [Fact]
    public async Task A_killed_worker_leaves_rotation_and_submissions_fail_only_briefly()
    {
        var probe = TimeSpan.FromMilliseconds(500);
        await using var cluster = await GatewayCluster.StartAsync(3, ("LoadBalancing:Policy", "RoundRobin"));
        var victimId = await cluster.WorkerIdAsync("w3");
        var clock = Stopwatch.StartNew();
        var outcomes = new List<(TimeSpan At, HttpStatusCode Status)>();
        TimeSpan? killedAt = null;

        while (clock.Elapsed < TimeSpan.FromSeconds(8))
        {
            if (killedAt is null && clock.Elapsed > TimeSpan.FromSeconds(2))
            {
                await cluster.Workers[2].KillAsync();
                killedAt = clock.Elapsed;
            }

            using var response = await cluster.Api.SubmitAsync("""{"type":"echo","payload":{"batch":"kill"}}""");
            outcomes.Add((clock.Elapsed, response.StatusCode));
        }

        // Out of rotation within two probe intervals (plus one probe's timeout and the gateway's own latency).
        var window = (probe * 3) + TimeSpan.FromSeconds(1);
        var failures = outcomes.Where(o => o.Status != HttpStatusCode.Accepted).ToList();
        Assert.All(failures, f => Assert.InRange(f.At, killedAt!.Value, killedAt.Value + window));
        Assert.Contains(outcomes, o => o.At > killedAt!.Value + window && o.Status == HttpStatusCode.Accepted);
        Assert.Equal(0, await cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.tasks WHERE payload->>'batch' = 'kill' AND worker = '{victimId}' AND created_at > now() - interval '4 seconds'"));
    }

    [Fact]
    public async Task Submissions_beyond_every_workers_backlog_limit_get_429_with_retry_after()
    {
        await using var cluster = await GatewayCluster.StartAsync(1, ("LoadBalancing:MaxBacklogPerCapacity", "1"));

        // Capacity 4 and a limit of one backlog per unit of capacity: once the worker reports its four long
        // tasks, a fifth finds no room.
        var workerId = await cluster.WorkerIdAsync("w1");
        for (var i = 0; i < 4; i++)
        {
            using var accepted = await cluster.Api.SubmitAsync("""{"type":"sleep","payload":{"ms":60000}}""");
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        await TaskServer.Testing.Eventually.HoldsAsync(
            async () => await MetricAsync(cluster.Api.Http, "taskserver_worker_running", workerId) + await MetricAsync(cluster.Api.Http, "taskserver_worker_queued", workerId) >= 4,
            TimeSpan.FromSeconds(15),
            "the gateway to see the worker's four tasks");
        using var refused = await cluster.Api.SubmitAsync("""{"type":"sleep","payload":{"ms":60000}}""");

        await ApiContractTests.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "overloaded");
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(4, await cluster.Database.CountAsync("SELECT count(*) FROM taskserver.tasks"));
    }

    /// <summary>One labelled value of a gauge from the gateway's Prometheus endpoint.</summary>
    internal static async Task<double> MetricAsync(HttpClient http, string name, string worker)
    {
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains($"=\"{worker}\"", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
