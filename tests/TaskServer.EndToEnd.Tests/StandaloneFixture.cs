using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>One standalone node (gateway and worker in one process) on its own database, shared by the classes of <see cref="StandaloneNodeGroup"/>.</summary>
public sealed class StandaloneFixture : IAsyncLifetime
{
    private PostgresDatabase? database;

    public NodeProcess Node { get; private set; } = null!;

    public PostgresDatabase Database => database!;

    public TaskApi Api { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        database = await PostgresDatabase.CreateAsync();
        Node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", "solo", ("Execution:MaxPayloadBytes", "65536")));
        await Node.WaitUntilLiveAsync();
        Api = new TaskApi(Node.Url);
        await WaitUntilRoutingAsync(Api);
    }

    public async ValueTask DisposeAsync()
    {
        Api?.Dispose();
        if (Node is not null)
        {
            await Node.DisposeAsync();
        }

        if (database is not null)
        {
            await database.DisposeAsync();
        }
    }

    /// <summary>A gateway routes once it has read a live worker from the registry; until then it answers 503.</summary>
    public static Task WaitUntilRoutingAsync(TaskApi api) =>
        Eventually.HoldsAsync(
            async () =>
            {
                using var response = await api.SubmitAsync("""{"type":"echo","payload":"warm-up"}""");
                return response.StatusCode == System.Net.HttpStatusCode.Accepted;
            },
            TimeSpan.FromSeconds(30),
            "the gateway to route to a worker");
}

[CollectionDefinition(Name)]
public sealed class StandaloneNodeGroup : ICollectionFixture<StandaloneFixture>
{
    public const string Name = "standalone node";
}
