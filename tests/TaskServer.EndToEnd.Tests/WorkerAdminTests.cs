using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>A worker-only node serves the operator endpoints (faults, a keyed /metrics) to the admin key, as gateways do.</summary>
public sealed class WorkerAdminTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_worker_only_node_serves_faults_to_the_admin_key_and_refuses_others()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        // As scripts/cluster.sh starts a worker: admin keys only, no client or viewer keys.
        var settings = ClusterSettings.For(database, "Worker", "w-admin", ("Faults:Enabled", "true"), ("Faults:AllowInProduction", "true"));
        foreach (var key in settings.Keys.Where(key => key.StartsWith("Auth:ApiKeys:", StringComparison.Ordinal) || key.StartsWith("Auth:ViewerKeys:", StringComparison.Ordinal)).ToList())
        {
            settings.Remove(key);
        }

        await using var worker = NodeProcess.Start(settings);
        await worker.WaitUntilLiveAsync();

        using var admin = new HttpClient { BaseAddress = new Uri(worker.InternalUrl) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.AdminKey);
        using var basic = new HttpClient { BaseAddress = new Uri(worker.Url) };
        basic.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + ClusterSettings.AdminKey)));
        using var client = new HttpClient { BaseAddress = new Uri(worker.InternalUrl) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.ApiKey);
        using var anonymous = new HttpClient { BaseAddress = new Uri(worker.InternalUrl) };

        using var set = await admin.PostAsJsonAsync("/admin/faults", new { fault = "latency", value = 5 }, Ct);
        using var read = await basic.GetAsync(new Uri("/admin/faults", UriKind.Relative), Ct);
        using var byClient = await client.PostAsJsonAsync("/admin/faults", new { fault = "clear" }, Ct);
        using var byNobody = await anonymous.PostAsJsonAsync("/admin/faults", new { fault = "clear" }, Ct);

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(5, (await TaskApi.ReadJsonAsync(read)).GetProperty("latencyMs").GetInt32());
        await ApiContractTests.AssertProblemAsync(byClient, HttpStatusCode.Unauthorized, "admin-required");
        await ApiContractTests.AssertProblemAsync(byNobody, HttpStatusCode.Unauthorized, "admin-required");
    }
}
