using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// Alpha (primary), beta (backup) and one worker, after alpha was killed with SIGKILL and beta took over:
/// the state the cluster views exist to explain. Started once for the classes that only read it.
/// </summary>
public sealed class FailedOverCluster : IAsyncLifetime
{
    private FailoverCluster? cluster;

    public FailoverCluster Cluster => cluster!;

    /// <summary>Beta, primary since alpha's death.</summary>
    public NodeProcess NewPrimary => Cluster.Beta;

    public string AlphaId { get; private set; } = "";

    public string BetaId { get; private set; } = "";

    public string WorkerId { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        cluster = await FailoverCluster.StartAsync(workers: 1);
        AlphaId = await cluster.NodeIdAsync("alpha");
        BetaId = await cluster.NodeIdAsync("beta");
        WorkerId = await cluster.NodeIdAsync("w1");

        // The failover's TTD is measured from beta's last good probe of alpha: make sure there was one.
        // Only beta asks alpha's /health/primary once the cluster has started, so a new pass is beta's.
        var probed = await PrimaryPassesAsync(cluster.Alpha);
        await Eventually.HoldsAsync(async () => await PrimaryPassesAsync(cluster.Alpha) > probed, TimeSpan.FromSeconds(10), "beta to probe alpha");

        await cluster.Alpha.KillAsync();
        await GatewayCluster.WaitUntilPrimaryAsync(cluster.Beta);
    }

    public async ValueTask DisposeAsync()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }
    }

    private static async Task<long> PrimaryPassesAsync(NodeProcess node)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(node.Url + "/health/live"));
        var body = await TaskApi.ReadJsonAsync(response);
        return body.GetProperty("availability").GetProperty("endpoints").TryGetProperty("primary", out var primary)
            ? primary.GetProperty("passed").GetInt64()
            : 0;
    }
}
