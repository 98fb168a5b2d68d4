using System.Net;
using Npgsql;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TaskServer.Host.Execution;
using TaskServer.Testing;

namespace TaskServer.Host.Tests.Node;

/// <summary>
/// Hangfire's hosted service builds a worker's Hangfire server once the host has started and only logs it when that
/// fails: the worker must not stay ready, taking tasks its drains never run.
/// </summary>
public sealed class DrainStartReadinessTests
{
    private const string WorkerTimeout = "Node:WorkerTimeout";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_worker_whose_hangfire_server_never_starts_its_drain_leaves_readiness()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var worker = Serverless(database);
        await worker.StartAsync(Ct);
        using var http = new HttpClient { BaseAddress = new Uri(worker.Configuration["Node:InternalUrl"]!) };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/worker", Ct)).StatusCode);
        await InProcessNode.SubmitToIntakeAsync(worker, Ct);

        await Eventually.HoldsAsync(
            async () => (await http.GetAsync("/health/worker", Ct)).StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(15),
            "the worker to leave readiness once its drain waited past the start deadline");
        await worker.StopAsync(Ct);
    }

    [Fact]
    public async Task What_such_a_worker_accepted_runs_on_another_worker()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var primary = InProcessNode.Build(database, "Standalone", "sweeping", null, (WorkerTimeout, "00:00:02"));
        await primary.StartAsync(Ct);
        await using var worker = Serverless(database);
        await worker.StartAsync(Ct);

        var id = await InProcessNode.SubmitToIntakeAsync(worker, Ct);

        await Eventually.HoldsAsync(
            async () => await database.ScalarAsync($"SELECT status FROM taskserver.tasks WHERE id = '{id}'") as string == "Succeeded",
            TimeSpan.FromSeconds(30),
            "the task to be requeued off the worker that cannot run it, and run");
        var ranOn = await database.ScalarAsync($"SELECT worker FROM taskserver.tasks WHERE id = '{id}'") as string;
        Assert.StartsWith("sweeping-", ranOn, StringComparison.Ordinal);
        await worker.StopAsync(Ct);
        await primary.StopAsync(Ct);
    }

    [Fact]
    public async Task After_a_database_outage_the_worker_heartbeats_for_a_whole_deadline_before_withholding()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var direct = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, direct.Port));
        var viaRelay = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = relay.Port };
        await using var worker = Serverless(database, "00:00:03", ("Storage:ConnectionString", viaRelay.ConnectionString));
        await worker.StartAsync(Ct);
        await InProcessNode.SubmitToIntakeAsync(worker, Ct);
        var drain = worker.Services.GetRequiredService<TaskDrain>();
        await Eventually.HoldsAsync(
            () => Task.FromResult(drain.AwaitingDrainStart is not null),
            TimeSpan.FromSeconds(10),
            "the worker's drain to be enqueued");

        // The database goes away past the drain's deadline: the drain could not have started, whatever Hangfire's state.
        await relay.CutAsync();
        await Task.Delay(TimeSpan.FromSeconds(4), Ct);
        relay.Restore();

        await Eventually.HoldsAsync(
            async () => await database.CountAsync(Beat("0.8")) == 1,
            TimeSpan.FromSeconds(3),
            "a heartbeat once the database answers again, though the drain has waited past its deadline");
        await Eventually.HoldsAsync(
            async () => await database.CountAsync(Beat("2")) == 0,
            TimeSpan.FromSeconds(10),
            "the heartbeats to be withheld once the database has answered for a whole deadline");
        await worker.StopAsync(Ct);
    }

    private static string Beat(string withinSeconds) =>
        $"SELECT count(*) FROM taskserver.nodes WHERE node_id LIKE 'serverless-%' AND last_seen > clock_timestamp() - interval '{withinSeconds} seconds'";

    /// <summary>A worker with no Hangfire server, as when building it failed, and a short drain start deadline.</summary>
    private static WebApplication Serverless(PostgresDatabase database, string deadline = "00:00:01", params (string Key, string Value)[] settings) => InProcessNode.Build(
        database,
        "Worker",
        "serverless",
        services =>
        {
            var servers = services.Where(IsHangfireServer).ToList();
            Assert.Single(servers);
            services.Remove(servers[0]);
        },
        [("Execution:DrainStartDeadline", deadline), (WorkerTimeout, "00:00:02"), .. settings]);

    // AddHangfireServer registers its hosted service through a factory of Hangfire's own.
    private static bool IsHangfireServer(ServiceDescriptor descriptor) =>
        descriptor.ServiceType == typeof(IHostedService) && descriptor.ImplementationFactory?.Method.DeclaringType?.Namespace == "Hangfire";
}
