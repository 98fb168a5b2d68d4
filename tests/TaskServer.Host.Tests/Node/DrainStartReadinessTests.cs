using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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

    /// <summary>A worker with no Hangfire server, as when building it failed, and a one-second drain start deadline.</summary>
    private static WebApplication Serverless(PostgresDatabase database) => InProcessNode.Build(
        database,
        "Worker",
        "serverless",
        services =>
        {
            var servers = services.Where(IsHangfireServer).ToList();
            Assert.Single(servers);
            services.Remove(servers[0]);
        },
        ("Execution:DrainStartDeadline", "00:00:01"),
        (WorkerTimeout, "00:00:02"));

    // AddHangfireServer registers its hosted service through a factory of Hangfire's own.
    private static bool IsHangfireServer(ServiceDescriptor descriptor) =>
        descriptor.ServiceType == typeof(IHostedService) && descriptor.ImplementationFactory?.Method.DeclaringType?.Namespace == "Hangfire";
}
