using System.Collections.Concurrent;
using TaskServer.Client;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// Two standalone nodes (alpha starts first and becomes primary; beta is the backup) and extra workers,
/// each a real process, on one throwaway database; and a client that knows both gateways.
/// </summary>
public sealed class FailoverCluster : IAsyncDisposable
{
    private FailoverCluster(PostgresDatabase database, NodeProcess alpha, NodeProcess beta, IReadOnlyList<NodeProcess> workers)
    {
        Database = database;
        Alpha = alpha;
        Beta = beta;
        Workers = workers;
        var options = new TaskServerClientOptions { ApiKey = ClusterSettings.ApiKey, MaxAttempts = 60, BaseDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(500) };
        options.Gateways.Add(new Uri(alpha.Url));
        options.Gateways.Add(new Uri(beta.Url));
        Client = new TaskServerClient(options);
    }

    public PostgresDatabase Database { get; }

    public NodeProcess Alpha { get; }

    public NodeProcess Beta { get; }

    public IReadOnlyList<NodeProcess> Workers { get; }

    public TaskServerClient Client { get; }

    public static async Task<FailoverCluster> StartAsync(int workers, Func<PostgresDatabase, Dictionary<string, string>>? alphaSettings = null)
    {
        var database = await PostgresDatabase.CreateAsync();
        var started = new List<NodeProcess>();
        try
        {
            var alpha = Started(NodeProcess.Start(alphaSettings?.Invoke(database) ?? ClusterSettings.For(database, "Standalone", "alpha")));
            await alpha.WaitUntilLiveAsync();
            await GatewayCluster.WaitUntilPrimaryAsync(alpha);
            var beta = Started(NodeProcess.Start(ClusterSettings.For(database, "Standalone", "beta")));
            var workerNodes = Enumerable.Range(1, workers).Select(i => Started(NodeProcess.Start(ClusterSettings.For(database, "Worker", $"w{i}")))).ToList();
            await Task.WhenAll(workerNodes.Append(beta).Select(n => n.WaitUntilLiveAsync()));
            var cluster = new FailoverCluster(database, alpha, beta, workerNodes);
            await new GatewayClusterProbe(alpha).WaitForHealthyWorkersAsync(2 + workers);
            return cluster;
        }
        catch
        {
            // A cluster that never came up still holds processes and database connections the next tests need.
            foreach (var node in started)
            {
                await node.DisposeAsync();
            }

            await database.DisposeAsync();
            throw;
        }

        NodeProcess Started(NodeProcess node)
        {
            started.Add(node);
            return node;
        }
    }

    /// <summary>The registry id of a node by its name ("alpha", "w1").</summary>
    public async Task<string> NodeIdAsync(string name) =>
        (string)(await Database.ScalarAsync($"SELECT node_id FROM taskserver.nodes WHERE node_id LIKE '{name}-%' ORDER BY last_seen DESC LIMIT 1"))!;

    /// <summary>The last lines each node printed, for a failure message.</summary>
    public string LogTails(int lines = 40) =>
        string.Join("\n", Workers.Append(Alpha).Append(Beta).Select(n => $"--- {n.Url}\n" + string.Join('\n', n.Output.Split('\n').TakeLast(lines))));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        foreach (var node in Workers.Append(Alpha).Append(Beta))
        {
            await node.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}

/// <summary>Submits callback tasks at a steady rate through the failover-aware client, recording what was acknowledged.</summary>
public sealed class SteadySubmissions(TaskServerClient client, CallbackSink sink)
{
    public ConcurrentBag<Guid> Acknowledged { get; } = [];

    public ConcurrentBag<string> Errors { get; } = [];

    public async Task RunAsync(TimeSpan duration, TimeSpan interval, int parallel = 4)
    {
        var until = DateTime.UtcNow + duration;
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
        {
            while (DateTime.UtcNow < until)
            {
                try
                {
                    var task = await client.SubmitAsync("callback", new { url = sink.Url });
                    Acknowledged.Add(task.Id);
                }
                catch (TaskServerException e)
                {
                    Errors.Add(e.Message);
                }

                await Task.Delay(interval);
            }
        }));
    }

    /// <summary>Every acknowledged task, once final (fails the test if any is not within the deadline).</summary>
    public async Task<IReadOnlyList<TaskInfo>> DrainAsync(TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        var finals = new List<TaskInfo>();
        foreach (var id in Acknowledged)
        {
            try
            {
                finals.Add(await client.WaitAsync(id, TimeSpan.FromMilliseconds(100), timeout.Token));
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"Acknowledged task {id} was not final within {deadline}: {await client.GetAsync(id)}");
            }
        }

        return finals;
    }
}

/// <summary>Reads a gateway's readiness to learn how many workers it routes to.</summary>
internal sealed class GatewayClusterProbe(NodeProcess gateway)
{
    public Task WaitForHealthyWorkersAsync(int count) =>
        Eventually.HoldsAsync(
            async () =>
            {
                using var http = new HttpClient();
                using var response = await http.GetAsync(new Uri(gateway.Url + "/health/ready"));
                var body = await TaskApi.ReadJsonAsync(response);
                var workers = body.GetProperty("checks").EnumerateArray().FirstOrDefault(c => c.GetProperty("name").GetString() == "workers");
                return workers.ValueKind != System.Text.Json.JsonValueKind.Undefined
                    && workers.TryGetProperty("data", out var data) && data.ValueKind == System.Text.Json.JsonValueKind.Object
                    && data.GetProperty("healthy").GetInt32() == count;
            },
            TimeSpan.FromSeconds(30),
            $"{gateway.Url} to route to {count} workers");
}
