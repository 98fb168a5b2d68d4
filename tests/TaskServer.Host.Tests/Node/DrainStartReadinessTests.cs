using System.Net;
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
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_worker_whose_hangfire_server_never_starts_its_drain_leaves_readiness()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var removed = 0;
        await using var worker = InProcessNode.Build(
            database,
            "Worker",
            "serverless",
            services =>
            {
                foreach (var server in services.Where(IsHangfireServer).ToList())
                {
                    services.Remove(server);
                    removed++;
                }
            },
            ("Execution:DrainStartDeadline", "00:00:01"));
        Assert.Equal(1, removed);
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

    // AddHangfireServer registers its hosted service through a factory of Hangfire's own.
    private static bool IsHangfireServer(ServiceDescriptor descriptor) =>
        descriptor.ServiceType == typeof(IHostedService) && descriptor.ImplementationFactory?.Method.DeclaringType?.Namespace == "Hangfire";
}
