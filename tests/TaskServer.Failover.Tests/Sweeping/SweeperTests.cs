using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TaskServer.Failover.Leadership;
using TaskServer.Failover.Sweeping;
using TaskServer.StorageManager;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.PostgreSql;
using TaskServer.StorageManager.Tasks;
using TaskServer.Testing;

namespace TaskServer.Failover.Tests.Sweeping;

/// <summary>
/// The sweeper on a real PostgreSQL database of its own per test (liveness is judged by the database clock, so the
/// workers are made silent by waiting past a short WorkerTimeout; the hold-off runs on a fake clock).
/// </summary>
public sealed class SweeperTests : IAsyncLifetime
{
    private static readonly TimeSpan WorkerTimeout = TimeSpan.FromMilliseconds(400);

    private readonly FakeTimeProvider clock = new();
    private readonly FailoverOptions settings = new() { WorkerTimeout = WorkerTimeout, MassSilenceHoldOff = TimeSpan.FromSeconds(10) };
    private PostgresDatabase? database;
    private ServiceProvider? services;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ITaskStore Tasks => services!.GetRequiredService<ITaskStore>();

    private INodeRegistry Nodes => services!.GetRequiredService<INodeRegistry>();

    public async ValueTask InitializeAsync()
    {
        database = await PostgresDatabase.CreateAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = database.ConnectionString,
        }).Build();
        services = new ServiceCollection().AddLogging().AddPostgreSqlTaskStorage(configuration).BuildServiceProvider(validateScopes: true);
        await services.GetRequiredService<IStorageInitializer>().InitializeAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (services is not null)
        {
            await services.DisposeAsync();
        }

        if (database is not null)
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task When_every_worker_falls_silent_at_once_their_last_attempts_are_not_failed_within_the_hold_off()
    {
        // The database was unreachable for longer than WorkerTimeout: no heartbeat landed, every worker is alive.
        var (sweeper, fence) = await PrimaryAsync();
        var first = await RunningLastAttemptAsync("w1");
        var second = await RunningLastAttemptAsync("w2");
        await UntilSilentAsync("w1", "w2");

        await sweeper.SweepAsync(fence, settings, Ct);

        Assert.Equal(TaskState.Running, (await Tasks.GetAsync(first.Id, Ct))!.Status);
        Assert.Equal(TaskState.Running, (await Tasks.GetAsync(second.Id, Ct))!.Status);
    }

    [Fact]
    public async Task A_silence_of_every_worker_that_outlasts_the_hold_off_is_rescued()
    {
        var (sweeper, fence) = await PrimaryAsync();
        var first = await RunningLastAttemptAsync("w1");
        var second = await RunningLastAttemptAsync("w2");
        await UntilSilentAsync("w1", "w2");
        await sweeper.SweepAsync(fence, settings, Ct);

        clock.Advance(settings.MassSilenceHoldOff);
        await sweeper.SweepAsync(fence, settings, Ct);

        Assert.Equal("worker w1 was lost during attempt 1", (await Tasks.GetAsync(first.Id, Ct))!.Error);
        Assert.Equal("worker w2 was lost during attempt 1", (await Tasks.GetAsync(second.Id, Ct))!.Error);
    }

    [Fact]
    public async Task One_silent_worker_of_two_is_rescued_without_waiting()
    {
        // The live worker's heartbeat is renewed just before the sweep; a stall longer than the generous timeout
        // below would be needed to make it look silent too.
        var relaxed = new FailoverOptions { WorkerTimeout = TimeSpan.FromSeconds(2), MassSilenceHoldOff = settings.MassSilenceHoldOff };
        var (sweeper, fence) = await PrimaryAsync();
        var lost = await RunningLastAttemptAsync("w1");
        await BeatAsync("w2");
        await UntilSilentAsync(relaxed.WorkerTimeout, "w1");
        await BeatAsync("w2");

        await sweeper.SweepAsync(fence, relaxed, Ct);

        var stored = (await Tasks.GetAsync(lost.Id, Ct))!;
        Assert.Equal((TaskState.Failed, "worker w1 was lost during attempt 1"), (stored.Status, stored.Error));
    }

    private async Task<(Sweeper Sweeper, Fence Fence)> PrimaryAsync()
    {
        var leases = services!.GetRequiredService<ILeaseStore>();
        var acquired = await leases.TryAcquireAsync("gateway-primary", "alpha", "http://alpha", TimeSpan.FromMinutes(5), Ct);
        Assert.True(acquired.Succeeded);
        var sweeper = new Sweeper(Nodes, Tasks, new LeadershipState(clock), new SweepTrigger(), Options.Create(settings), clock, NullLogger<Sweeper>.Instance);
        return (sweeper, acquired.Lease!.Fence);
    }

    private async Task<TaskRecord> RunningLastAttemptAsync(string worker)
    {
        await BeatAsync(worker);
        var created = await Tasks.CreateAsync(
            new NewTask
            {
                Id = Guid.CreateVersion7(),
                Type = "echo",
                Payload = "{}",
                MaxAttempts = 1,
                Worker = worker,
                AttemptToken = Guid.NewGuid(),
                Timeout = TimeSpan.FromMinutes(1),
            },
            Ct);
        Assert.Equal(created.Task.Id, Assert.Single(await Tasks.ClaimAsync(worker, 10, TimeSpan.FromMinutes(1), Ct)).Id);
        return created.Task;
    }

    private Task BeatAsync(string worker) =>
        Nodes.HeartbeatAsync(new NodeHeartbeat(worker, NodeRole.Worker, $"http://{worker}", new NodeLoad(0, 0, 4)), Ct);

    private Task UntilSilentAsync(params string[] workers) => UntilSilentAsync(WorkerTimeout, workers);

    private async Task UntilSilentAsync(TimeSpan timeout, params string[] workers)
    {
        while ((await Nodes.ListAsync(Ct)).Any(n => workers.Contains(n.NodeId) && n.Age <= timeout))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), Ct);
        }
    }
}
