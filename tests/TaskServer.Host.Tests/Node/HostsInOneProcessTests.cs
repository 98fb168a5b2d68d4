using Hangfire;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TaskServer.Testing;

namespace TaskServer.Host.Tests.Node;

/// <summary>
/// Hosts composed in one process (as these tests compose them) each configure Hangfire, and Hangfire's configuration is
/// process-wide: a worker must still run its tasks whichever host configured Hangfire last, and whether that host is
/// still there.
/// </summary>
public sealed class HostsInOneProcessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_worker_runs_its_tasks_when_another_host_configured_hangfire_while_it_started()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var other = InProcessNode.Build(database, "Worker", "configured-meanwhile");

        // As a test starting alongside did: another host configures Hangfire after this worker configured its own and
        // before the worker's server is built (the job storage's schema install lies between, half a second or more).
        await using var worker = InProcessNode.Build(database, "Worker", "activated", services =>
        {
            var real = services.Single(d => d.ServiceType == typeof(IGlobalConfiguration));
            services.Remove(real);
            services.AddSingleton(provider =>
            {
                var configured = (IGlobalConfiguration)real.ImplementationFactory!(provider);
                other.Services.GetRequiredService<IGlobalConfiguration>();
                return configured;
            });
        });

        await RunsATaskAsync(worker, database);
    }

    [Fact]
    public async Task A_worker_runs_its_tasks_when_a_host_that_configured_hangfire_after_it_is_gone_before_its_server_starts()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        var other = InProcessNode.Build(database, "Worker", "gone-meanwhile");

        // As a test that ran alongside did: its host configured Hangfire after this worker and was disposed before the
        // worker's Hangfire server was built, once the worker had started (this hosted service starts after that
        // server's and before the host reports started).
        await using var worker = InProcessNode.Build(database, "Worker", "logged", services => services.AddHostedService(_ => new ConfiguresAndLeaves(other)));

        await RunsATaskAsync(worker, database);
    }

    private static async Task RunsATaskAsync(WebApplication worker, PostgresDatabase database)
    {
        await worker.StartAsync(Ct);
        var id = await InProcessNode.SubmitToIntakeAsync(worker, Ct);
        await Eventually.HoldsAsync(
            async () => await database.ScalarAsync($"SELECT status FROM taskserver.tasks WHERE id = '{id}'") as string == "Succeeded",
            TimeSpan.FromSeconds(20),
            "the task to be run by the worker's own drain");
        await worker.StopAsync(Ct);
    }

    private sealed class ConfiguresAndLeaves(WebApplication other) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            other.Services.GetRequiredService<IGlobalConfiguration>();
            await other.DisposeAsync();
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
