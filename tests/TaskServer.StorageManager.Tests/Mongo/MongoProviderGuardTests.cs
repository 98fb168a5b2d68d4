using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Clusters;
using MongoDB.Driver.Core.Connections;
using MongoDB.Driver.Core.Servers;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Mongo;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Tests.Mongo;

/// <summary>What the provider refuses, bounds and classifies, checked without a MongoDB server.</summary>
public sealed class MongoProviderGuardTests
{
    private static readonly ConnectionId Connection = new(new ServerId(new ClusterId(), new DnsEndPoint("localhost", 27017)));

    [Fact]
    public void Outage_errors_are_unavailable_and_a_bug_is_not()
    {
        var errors = new StorageErrors(new MongoErrors());
        var labelled = new MongoCommandException(Connection, "interrupted", new BsonDocument(), new BsonDocument("code", 11602));
        labelled.AddErrorLabel("RetryableWriteError");
        var transaction = new MongoCommandException(Connection, "write conflict", new BsonDocument(), new BsonDocument("code", 112));
        transaction.AddErrorLabel("TransientTransactionError");

        Assert.True(errors.IsUnavailable(new MongoConnectionPoolPausedException("paused")));
        Assert.True(errors.IsUnavailable(new MongoWriteConcernException(Connection, "PrimarySteppedDown", new WriteConcernResult(new BsonDocument("ok", 1)))));
        Assert.True(errors.IsUnavailable(labelled));
        Assert.True(errors.IsUnavailable(transaction));
        Assert.True(errors.IsUnavailable(new InvalidOperationException("hangfire", new MongoConnectionPoolPausedException("paused"))));
        Assert.False(errors.IsUnavailable(new MongoCommandException(Connection, "bad", new BsonDocument(), new BsonDocument("code", 2))));
    }

    [Fact]
    public void A_standalone_server_is_refused_and_a_replica_set_or_router_accepted()
    {
        Assert.Throws<InvalidOperationException>(() => MongoStorageInitializer.RequireTransactions(new BsonDocument { { "isWritablePrimary", true } }));
        MongoStorageInitializer.RequireTransactions(new BsonDocument { { "isWritablePrimary", true }, { "setName", "rs0" } });
        MongoStorageInitializer.RequireTransactions(new BsonDocument { { "isWritablePrimary", true }, { "msg", "isdbgrid" } });
    }

    [Fact]
    public void Task_and_lease_collections_write_to_a_majority_on_the_primary_whatever_the_connection_string_says()
    {
        var weak = MongoStorageServiceCollectionExtensions.CreateClientSettings("mongodb://localhost:27017/?w=1&readPreference=secondary&readConcernLevel=local", loggerFactory: null);
        var settings = MongoCollections.SettingsFor(MongoBounds.Default);
        var lease = MongoLeaseClient.CreateSettings(weak, "taskserver-lease-x", MongoBounds.Default.Lease);

        Assert.Equal(WriteConcern.WMajority.W, settings.WriteConcern.W);
        Assert.Equal(MongoBounds.Default.Call, settings.WriteConcern.WTimeout);
        Assert.Equal(ReadPreference.Primary, settings.ReadPreference);
        Assert.Equal(ReadConcern.Majority, settings.ReadConcern);
        Assert.Equal(WriteConcern.WMajority.W, lease.WriteConcern.W);
        Assert.Equal(ReadPreference.Primary, lease.ReadPreference);
        Assert.Equal("taskserver-lease-x", lease.ApplicationName);
        Assert.Equal(ServerMonitoringMode.Poll, lease.ServerMonitoringMode);
        Assert.Equal(MongoBounds.Default.Lease, lease.ServerSelectionTimeout);
        Assert.Equal(new WriteConcern.WCount(1), weak.WriteConcern.W);
    }

    [Fact]
    public void Each_process_names_its_lease_client_apart()
    {
        var shared = MongoClientSettings.FromConnectionString("mongodb://localhost:27017/");
        using var first = new MongoLeaseClient(shared, "db", MongoBounds.Default);
        using var second = new MongoLeaseClient(shared, "db", MongoBounds.Default);

        Assert.NotEqual(first.AppName, second.AppName);
        Assert.StartsWith("taskserver-lease-", first.AppName, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1E-400")]
    [InlineData("123456789012345678901234567890.5")]
    [InlineData("9007199254740993.0")]
    public void Numbers_beyond_a_double_are_stored_exactly_as_decimal128(string number)
    {
        var stored = MongoJson.ToBson(number);

        Assert.IsType<BsonDecimal128>(stored);
        Assert.Equal(Decimal128.Parse(number), ((BsonDecimal128)MongoJson.ToBson(MongoJson.ToJson(stored))).Value);
    }

    [Fact]
    public void A_number_no_mongodb_type_holds_exactly_is_refused_rather_than_changed()
    {
        Assert.Throws<TaskNotStorableException>(() => MongoJson.ToBson("1234567890123456789012345678901234567890.1"));
    }

    [Fact]
    public void A_payload_too_large_for_a_document_is_refused_and_a_result_too_large_fails_the_task_saying_why()
    {
        var large = $"\"{new string('x', MongoJson.MaxValueBytes)}\"";

        Assert.Throws<TaskNotStorableException>(() => MongoTaskCommands.Create(new NewTask
        {
            Id = Guid.CreateVersion7(), Type = "echo", Payload = large, MaxAttempts = 1, Worker = "w", AttemptToken = Guid.NewGuid(),
            Timeout = TimeSpan.FromSeconds(30),
        }));
        var update = MongoTaskCommands.TransitionUpdate(new CompleteAttempt(Guid.CreateVersion7(), Guid.NewGuid(), large))[0]["$set"];
        Assert.Equal("Failed", update["status"]);
        Assert.False(update.AsBsonDocument.Contains("result"));
        Assert.Equal("Succeeded", MongoTaskCommands.TransitionUpdate(new CompleteAttempt(Guid.CreateVersion7(), Guid.NewGuid(), "\"small\""))[0]["$set"]["status"]);
    }

    /// <summary>
    /// A server that accepts connections and never answers (a lost majority, a partition, a frozen primary): every
    /// call of every store fails within its bound instead of hanging its caller.
    /// </summary>
    [Fact]
    public async Task Every_store_call_fails_within_its_bound_against_a_server_that_never_answers()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<Socket>();
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                accepted.Add(await silent.AcceptSocketAsync(stop.Token));
            }
        }, TestContext.Current.CancellationToken);
        var bounds = new MongoBounds { Call = TimeSpan.FromMilliseconds(300), Lease = TimeSpan.FromMilliseconds(300), Transaction = TimeSpan.FromMilliseconds(300) };
        var settings = MongoStorageServiceCollectionExtensions.CreateClientSettings($"mongodb://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/?directConnection=true", loggerFactory: null);
        using var client = new MongoClient(settings);
        using var leaseClient = new MongoLeaseClient(settings, "db", bounds);
        var collections = new MongoCollections(client.GetDatabase("db"), bounds);
        var tasks = new MongoTaskStore(collections, new MongoFencedWriter(collections));
        var leases = new MongoLeaseStore(leaseClient, NullLogger<MongoLeaseStore>.Instance);
        var nodes = new MongoNodeRegistry(collections, new MongoFencedWriter(collections), tasks);
        var fence = new Fence("l", "h", 1);
        var id = Guid.CreateVersion7();
        Func<Task>[] calls =
        [
            () => tasks.CreateManyAsync(
                [new NewTask { Id = id, Type = "echo", Payload = "1", MaxAttempts = 1, Worker = "w", AttemptToken = id, Timeout = TimeSpan.FromSeconds(30) }],
                CancellationToken.None),
            () => tasks.GetAsync(id, CancellationToken.None),
            () => tasks.ListAsync(new TaskQuery(), CancellationToken.None),
            () => tasks.ClaimAsync("w", 10, TimeSpan.FromSeconds(5), CancellationToken.None),
            () => tasks.ApplyAsync(new CancelTask(id), CancellationToken.None),
            () => tasks.ApplyAsync(new ReleaseAttempt(id, id, id), CancellationToken.None),
            () => tasks.ApplyOutcomesAsync([new FailAttempt(id, id, "e")], CancellationToken.None),
            () => tasks.CountByStatusAsync(CancellationToken.None),
            () => tasks.CountActiveByWorkerAsync("w", CancellationToken.None),
            () => tasks.GetCurrentAttemptsAsync([id], CancellationToken.None),
            () => tasks.RescueAsync(
                new RescueRequest(TimeSpan.FromSeconds(5), 10, new RetryBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1))),
                fence,
                CancellationToken.None),
            () => tasks.ListRunningByWorkerAsync("w", 10, CancellationToken.None),
            () => leases.TryAcquireAsync("l", "h", "http://h", TimeSpan.FromSeconds(2), CancellationToken.None),
            () => leases.TryRenewAsync(fence, TimeSpan.FromSeconds(2), CancellationToken.None),
            () => leases.ReleaseAsync(fence, CancellationToken.None),
            () => leases.ReadAsync("l", CancellationToken.None),
            () => nodes.HeartbeatAsync(new NodeHeartbeat("n", NodeRole.Worker, "http://n", new NodeLoad(0, 0, 1)), CancellationToken.None),
            () => nodes.ListLiveAsync(TimeSpan.FromSeconds(5), CancellationToken.None),
            () => nodes.EvictAsync("n", TimeSpan.FromSeconds(5), fence, CancellationToken.None),
            () => nodes.LeaveAsync("n", CancellationToken.None),
            () => new MongoFailoverLog(collections).ListAsync("l", 10, CancellationToken.None),
            () => new MongoProbe(collections).PingAsync(CancellationToken.None),
        ];

        var errors = new StorageErrors(new MongoErrors());
        await Task.WhenAll(calls.Select(async (call, i) =>
        {
            var started = TimeProvider.System.GetTimestamp();
            var failure = await Record.ExceptionAsync(call);
            Assert.True(failure is not null && errors.IsUnavailable(failure), $"call {i}: {failure}");
            Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(5), $"call {i} took {TimeProvider.System.GetElapsedTime(started)}");
        }));

        await stop.CancelAsync();
        silent.Stop();
        await Record.ExceptionAsync(() => accepting);
        accepted.ForEach(socket => socket.Dispose());
    }
}
