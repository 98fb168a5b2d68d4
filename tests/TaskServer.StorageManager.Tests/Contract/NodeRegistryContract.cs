using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Tests.Contract;

/// <summary>What every <see cref="INodeRegistry"/> provider must do.</summary>
public abstract class NodeRegistryContract(StorageFixture fixture)
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private INodeRegistry Nodes => fixture.Nodes;

    [Fact]
    public async Task A_heartbeat_registers_the_node_with_its_role_url_and_load()
    {
        var id = Unique();

        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://127.0.0.1:5091", new NodeLoad(3, 2, 8)), Ct);

        var node = Assert.Single(await Nodes.ListAsync(Ct), n => n.NodeId == id);
        Assert.Equal(NodeRole.Worker, node.Role);
        Assert.Equal("http://127.0.0.1:5091", node.Url);
        Assert.Equal(new NodeLoad(3, 2, 8), node.Load);
        Assert.InRange(node.Age, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_workers_heartbeat_with_load_reports_what_the_store_counts_of_its_tasks()
    {
        var id = Unique();
        var tasks = fixture.Tasks;
        foreach (var i in Enumerable.Range(0, 3))
        {
            await tasks.CreateAsync(new NewTask { Id = Guid.CreateVersion7(), Type = "echo", Payload = "1", MaxAttempts = 1, Worker = id, AttemptToken = Guid.NewGuid(), Timeout = TimeSpan.FromMinutes(1) }, Ct);
        }

        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 0, 8)), Ct);
        await tasks.ClaimAsync(id, 1, TimeSpan.FromMinutes(1), Ct);

        var counted = await Nodes.HeartbeatWithLoadAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(99, 99, 8, Quarantined: true, Draining: true)), Ct);

        Assert.Equal(new ActiveCounts(2, 1, Due: 2), counted);
        var node = Assert.Single(await Nodes.ListAsync(Ct), n => n.NodeId == id);
        Assert.Equal(new NodeLoad(2, 1, 8, Quarantined: true, Draining: true), node.Load);
    }

    [Fact]
    public async Task A_later_heartbeat_replaces_the_load_and_refreshes_last_seen()
    {
        var id = Unique();
        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(1, 1, 4)), Ct);
        var first = Assert.Single(await Nodes.ListAsync(Ct), n => n.NodeId == id);

        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 4, 4)), Ct);

        var second = Assert.Single(await Nodes.ListAsync(Ct), n => n.NodeId == id);
        Assert.Equal(new NodeLoad(0, 4, 4), second.Load);
        Assert.True(second.LastSeen >= first.LastSeen);
    }

    [Fact]
    public async Task A_heartbeat_carries_quarantine_in_and_out()
    {
        var id = Unique();
        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 1, 4, Quarantined: true)), Ct);

        var quarantined = Assert.Single(await Nodes.ListLiveAsync(TimeSpan.FromSeconds(5), Ct), n => n.NodeId == id);
        Assert.True(quarantined.Load.Quarantined);

        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 1, 4)), Ct);

        var released = Assert.Single(await Nodes.ListAsync(Ct), n => n.NodeId == id);
        Assert.False(released.Load.Quarantined);
    }

    [Fact]
    public async Task A_node_that_stops_heartbeating_drops_out_of_the_live_list_after_the_timeout()
    {
        var id = Unique();
        var timeout = TimeSpan.FromMilliseconds(300);
        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 0, 4)), Ct);

        Assert.Contains(await Nodes.ListLiveAsync(TimeSpan.FromMinutes(1), Ct), n => n.NodeId == id);
        await LeaseStoreContract.EventuallyAsync(async () => (await Nodes.ListLiveAsync(timeout, Ct)).All(n => n.NodeId != id));
        var stale = Assert.Single(await Nodes.ListAsync(Ct), n => n.NodeId == id);
        Assert.True(stale.Age >= timeout);
    }

    [Fact]
    public async Task The_primary_evicts_a_stale_node()
    {
        var id = Unique();
        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 0, 4)), Ct);
        var fence = (await fixture.Leases.TryAcquireAsync($"lease-{id}", "gateway-a", "http://a", TimeSpan.FromMinutes(1), Ct)).Lease!.Fence;
        var timeout = TimeSpan.FromMilliseconds(200);
        await LeaseStoreContract.EventuallyAsync(async () => (await Nodes.ListLiveAsync(timeout, Ct)).All(n => n.NodeId != id));

        Assert.Equal(EvictOutcome.Evicted, await Nodes.EvictAsync(id, timeout, fence, Ct));
        Assert.DoesNotContain(await Nodes.ListAsync(Ct), n => n.NodeId == id);
    }

    [Fact]
    public async Task A_node_that_heartbeated_within_the_timeout_is_not_evicted()
    {
        var id = Unique();
        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 0, 4)), Ct);
        var fence = (await fixture.Leases.TryAcquireAsync($"lease-{id}", "gateway-a", "http://a", TimeSpan.FromMinutes(1), Ct)).Lease!.Fence;

        Assert.Equal(EvictOutcome.NotStale, await Nodes.EvictAsync(id, TimeSpan.FromMinutes(1), fence, Ct));
        Assert.Contains(await Nodes.ListAsync(Ct), n => n.NodeId == id);
    }

    [Fact]
    public async Task Eviction_by_a_superseded_primary_is_fenced()
    {
        var id = Unique();
        var leaseName = $"lease-{id}";
        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 0, 4)), Ct);
        var old = (await fixture.Leases.TryAcquireAsync(leaseName, "gateway-a", "http://a", TimeSpan.FromMinutes(1), Ct)).Lease!;
        await fixture.Leases.ReleaseAsync(old.Fence, Ct);
        await fixture.Leases.TryAcquireAsync(leaseName, "gateway-b", "http://b", TimeSpan.FromMinutes(1), Ct);

        Assert.Equal(EvictOutcome.Fenced, await Nodes.EvictAsync(id, TimeSpan.Zero, old.Fence, Ct));
        Assert.Contains(await Nodes.ListAsync(Ct), n => n.NodeId == id);
    }

    [Fact]
    public async Task A_silent_node_that_still_owns_an_active_task_is_not_evicted()
    {
        var id = Unique();
        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 0, 4)), Ct);
        await fixture.Tasks.CreateAsync(new NewTask { Id = Guid.CreateVersion7(), Type = "echo", Payload = "1", MaxAttempts = 1, Worker = id, AttemptToken = Guid.NewGuid(), Timeout = TimeSpan.FromMinutes(1) }, Ct);
        var fence = (await fixture.Leases.TryAcquireAsync($"lease-{id}", "gateway-a", "http://a", TimeSpan.FromMinutes(1), Ct)).Lease!.Fence;

        Assert.Equal(EvictOutcome.NotStale, await Nodes.EvictAsync(id, TimeSpan.Zero, fence, Ct));
        Assert.Contains(await Nodes.ListAsync(Ct), n => n.NodeId == id);
    }

    [Fact]
    public async Task A_leaving_node_removes_itself()
    {
        var id = Unique();
        await Nodes.HeartbeatAsync(new NodeHeartbeat(id, NodeRole.Worker, "http://w", new NodeLoad(0, 0, 4)), Ct);

        await Nodes.LeaveAsync(id, Ct);

        Assert.DoesNotContain(await Nodes.ListAsync(Ct), n => n.NodeId == id);
    }

    private static string Unique() => $"node-{Guid.NewGuid():N}";
}
