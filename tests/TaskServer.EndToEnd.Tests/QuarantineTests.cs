using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// A worker that returns wrong results (the "incorrect" fault) on real processes: its results fail verification, the
/// tasks are retried on the sound worker and end with correct results, the faulty worker is quarantined (GET /cluster)
/// and routed nothing, and it comes back once the fault is cleared.
/// </summary>
public sealed class QuarantineTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_worker_returning_wrong_results_is_quarantined_and_comes_back_once_it_computes_correctly()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        (string, string)[] workerSettings =
        [
            ("Node:Capacity", "4"),
            ("Faults:Enabled", "true"),
            ("Faults:AllowInProduction", "true"),
            ("Quarantine:FailureThreshold", "3"),
            ("Quarantine:ProbeInterval", "00:00:00.500"),
        ];
        await using var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gw", ("LoadBalancing:HealthProbeInterval", "00:00:00.500")));
        await using var faulty = NodeProcess.Start(ClusterSettings.For(database, "Worker", "wbad", workerSettings));
        await using var sound = NodeProcess.Start(ClusterSettings.For(database, "Worker", "wgood", workerSettings));
        await Task.WhenAll(gateway.WaitUntilLiveAsync(), faulty.WaitUntilLiveAsync(), sound.WaitUntilLiveAsync());
        await GatewayCluster.WaitUntilPrimaryAsync(gateway);
        await new GatewayClusterProbe(gateway).WaitForHealthyWorkersAsync(2);
        using var api = new TaskApi(gateway.Url);

        await SetFaultAsync(faulty, "incorrect");
        var firstBatch = await SubmitHashesAsync(api, "before", 24);
        await AssertAllCorrectAsync(api, firstBatch);
        Assert.True(
            await database.CountAsync($"SELECT count(*) FROM taskserver.tasks WHERE history::text LIKE '%failed verification on wbad-%'") >= 3,
            "the faulty worker's results were not caught by verification");

        await WaitForWorkerAsync(gateway, "wbad-", quarantined: true);
        var whileQuarantined = await SubmitHashesAsync(api, "during", 16);
        await AssertAllCorrectAsync(api, whileQuarantined);
        Assert.Equal(
            0,
            await database.CountAsync($"SELECT count(*) FROM taskserver.tasks WHERE id IN ({string.Join(',', whileQuarantined.Select(i => $"'{i.Id}'"))}) AND (worker LIKE 'wbad-%' OR history::text LIKE '%wbad-%')"));

        await SetFaultAsync(faulty, "clear");
        await WaitForWorkerAsync(gateway, "wbad-", quarantined: false);
        var after = await SubmitHashesAsync(api, "after", 16);
        await AssertAllCorrectAsync(api, after);
    }

    private static async Task<IReadOnlyList<(Guid Id, string Data)>> SubmitHashesAsync(TaskApi api, string prefix, int count)
    {
        var tasks = new List<(Guid, string)>();
        for (var i = 0; i < count; i++)
        {
            var data = $"{prefix}-{i}";
            tasks.Add((await api.SubmitAcceptedAsync($$$"""{"type":"hash","payload":{"data":"{{{data}}}","rounds":10}}"""), data));
        }

        return tasks;
    }

    private static async Task AssertAllCorrectAsync(TaskApi api, IEnumerable<(Guid Id, string Data)> tasks)
    {
        foreach (var (id, data) in tasks)
        {
            var task = await api.WaitForStatusAsync(id, "Succeeded", Deadline);
            Assert.Equal(Hash(data, 10), task.GetProperty("result").GetProperty("sha256").GetString());
        }
    }

    /// <summary>Waits until GET /cluster shows the worker with this quarantine state and routing that agrees with it.</summary>
    private static async Task WaitForWorkerAsync(NodeProcess gateway, string prefix, bool quarantined)
    {
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.AdminKey);
        await Eventually.HoldsAsync(
            async () =>
            {
                using var view = JsonDocument.Parse(await http.GetStringAsync(new Uri("/cluster", UriKind.Relative)));
                var node = view.RootElement.GetProperty("nodes").EnumerateArray()
                    .Single(n => n.GetProperty("id").GetString()!.StartsWith(prefix, StringComparison.Ordinal));
                return node.GetProperty("quarantined").GetBoolean() == quarantined && node.GetProperty("routed").GetBoolean() == !quarantined;
            },
            Deadline,
            $"GET /cluster to show {prefix}* with quarantined {quarantined}");
    }

    private static async Task SetFaultAsync(NodeProcess node, string fault)
    {
        using var http = new HttpClient { BaseAddress = new Uri(node.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + ClusterSettings.AdminKey)));
        using var response = await http.PostAsJsonAsync("/admin/faults", new { fault }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string Hash(string data, int rounds)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(data));
        for (var round = 1; round < rounds; round++)
        {
            digest = SHA256.HashData(digest);
        }

        return Convert.ToHexStringLower(digest);
    }
}
