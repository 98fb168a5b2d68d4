using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>A worker that fails submissions: the gateway sends each to another worker once, and takes the failing one out of rotation.</summary>
public sealed class SubmissionRetryTests
{
    [Fact]
    public async Task Submissions_a_worker_fails_are_answered_by_another_worker_once_each_and_the_failing_worker_leaves_rotation()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        (string, string)[] faultsOn = [("Faults:Enabled", "true"), ("Faults:AllowInProduction", "true")];
        await using var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gw"));
        await using var failing = NodeProcess.Start(ClusterSettings.For(database, "Worker", "wfail", faultsOn));
        await using var sound = NodeProcess.Start(ClusterSettings.For(database, "Worker", "wsound", faultsOn));
        await Task.WhenAll(gateway.WaitUntilLiveAsync(), failing.WaitUntilLiveAsync(), sound.WaitUntilLiveAsync());
        await GatewayCluster.WaitUntilPrimaryAsync(gateway);
        await new GatewayClusterProbe(gateway).WaitForHealthyWorkersAsync(2);
        using var api = new TaskApi(gateway.Url);

        // Half of what reaches the failing worker is answered 500, its intake and its health probe alike.
        await SetErrorRateAsync(failing, 0.5);
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            // No idempotency key, and no retry by the caller: whatever reaches the client is what the gateway made of it.
            using var response = await api.SubmitAsync($$"""{"type":"echo","payload":{{i}}}""");
            answers.Add(response.StatusCode);
        }

        Assert.All(answers, status => Assert.Equal(HttpStatusCode.Accepted, status));
        Assert.Equal(40L, await database.ScalarAsync("SELECT count(*) FROM taskserver.tasks"));
        await Eventually.HoldsAsync(
            async () =>
            {
                using var http = new HttpClient { BaseAddress = new Uri(gateway.Url) };
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.AdminKey);
                using var view = JsonDocument.Parse(await http.GetStringAsync(new Uri("/cluster", UriKind.Relative)));
                return view.RootElement.GetProperty("nodes").EnumerateArray()
                    .Single(n => n.GetProperty("id").GetString()!.StartsWith("wfail-", StringComparison.Ordinal))
                    .GetProperty("routed").GetBoolean() == false;
            },
            TimeSpan.FromSeconds(30),
            "the failing worker to leave rotation");
    }

    private static async Task SetErrorRateAsync(NodeProcess node, double rate)
    {
        using var http = new HttpClient { BaseAddress = new Uri(node.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + ClusterSettings.AdminKey)));
        using var response = await http.PostAsJsonAsync("/admin/faults", new { fault = "error-rate", value = rate }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
