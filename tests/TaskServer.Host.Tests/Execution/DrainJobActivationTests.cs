using System.Net;
using System.Text;
using System.Text.Json;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.Testing;

namespace TaskServer.Host.Tests.Execution;

/// <summary>
/// Hosts composed in one process (as these tests compose them) each configure Hangfire, and Hangfire's configuration is
/// process-wide: a worker's drain jobs must still be built from the worker's own services, whichever host configured
/// Hangfire last.
/// </summary>
public sealed class DrainJobActivationTests
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
        await worker.StartAsync(Ct);

        var id = await SubmitAsync(new Uri(new Uri(worker.Configuration["Node:InternalUrl"]!), "/internal/tasks"));

        await Eventually.HoldsAsync(
            async () => await database.ScalarAsync($"SELECT status FROM taskserver.tasks WHERE id = '{id}'") as string == "Succeeded",
            TimeSpan.FromSeconds(20),
            "the task to be run by the worker's own drain");
        await worker.StopAsync(Ct);
    }

    private static async Task<Guid> SubmitAsync(Uri intake)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, intake) { Content = new StringContent("""{"type":"echo","payload":{"n":1}}""", Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Cluster-Secret", "cluster-secret-for-tests-01");
        using var response = await http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return body.RootElement.GetProperty("id").GetGuid();
    }
}
