using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>A gateway and N workers as separate processes on one throwaway database.</summary>
public sealed class GatewayCluster : IAsyncDisposable
{
    private GatewayCluster(PostgresDatabase database, NodeProcess gateway, IReadOnlyList<NodeProcess> workers)
    {
        Database = database;
        Gateway = gateway;
        Workers = workers;
        Api = new TaskApi(gateway.Url);
    }

    public PostgresDatabase Database { get; }

    public NodeProcess Gateway { get; }

    /// <summary>Named w1, w2, … in the registry (plus each process's suffix).</summary>
    public IReadOnlyList<NodeProcess> Workers { get; }

    public TaskApi Api { get; }

    public static async Task<GatewayCluster> StartAsync(int workers, params (string Key, string Value)[] gatewaySettings)
    {
        var database = await PostgresDatabase.CreateAsync();
        var gateway = NodeProcess.Start(ClusterSettings.For(database, "Gateway", "gw", [("LoadBalancing:HealthProbeInterval", "00:00:00.500"), .. gatewaySettings]));
        var workerNodes = Enumerable.Range(1, workers)
            .Select(i => NodeProcess.Start(ClusterSettings.For(database, "Worker", $"w{i}", ("Node:Capacity", "4"))))
            .ToList();
        var cluster = new GatewayCluster(database, gateway, workerNodes);
        try
        {
            await Task.WhenAll(workerNodes.Append(gateway).Select(n => n.WaitUntilLiveAsync()));
            await WaitUntilPrimaryAsync(gateway);
            await cluster.WaitForHealthyWorkersAsync(workers);
        }
        catch
        {
            // A cluster that never came up still holds processes and database connections the next tests need.
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>The registry id of worker <paramref name="name"/> (e.g. "w1-3fa2c1").</summary>
    public async Task<string> WorkerIdAsync(string name) =>
        (string)(await Database.ScalarAsync($"SELECT node_id FROM taskserver.nodes WHERE node_id LIKE '{name}-%'"))!;

    /// <summary>Waits until the gateway's readiness reports exactly this many healthy workers.</summary>
    public Task WaitForHealthyWorkersAsync(int count) => new GatewayClusterProbe(Gateway).WaitForHealthyWorkersAsync(count);

    /// <summary>A gateway serves clients once it holds the primary lease.</summary>
    public static async Task WaitUntilPrimaryAsync(NodeProcess gateway)
    {
        using var http = new HttpClient();
        await Eventually.HoldsAsync(
            async () => (await http.GetAsync(new Uri(gateway.Url + "/health/primary"))).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30),
            $"{gateway.Url} to become primary");
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        foreach (var node in Workers.Append(Gateway))
        {
            await node.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}
