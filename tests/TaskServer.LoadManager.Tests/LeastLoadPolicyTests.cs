using Microsoft.AspNetCore.Http;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.LoadManager.Balancing;
using TaskServer.StorageManager.Nodes;
using Yarp.ReverseProxy.Model;

namespace TaskServer.LoadManager.Tests;

public sealed class LeastLoadPolicyTests
{
    private static readonly DateTimeOffset Heartbeat = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_worker_with_the_smallest_backlog_per_capacity_is_picked()
    {
        var board = Board(("a", new NodeLoad(8, 8, 8)), ("b", new NodeLoad(2, 8, 8)), ("c", new NodeLoad(0, 4, 4)));

        var picked = Pick(board, "a", "b", "c");

        Assert.Equal("c", picked);
    }

    [Fact]
    public void Capacity_counts_so_a_big_worker_with_more_tasks_can_still_be_the_least_loaded()
    {
        var board = Board(("small", new NodeLoad(0, 2, 2)), ("big", new NodeLoad(0, 10, 40)));

        Assert.Equal("big", Pick(board, "small", "big"));
    }

    [Fact]
    public void What_this_gateway_sent_since_the_heartbeat_counts_so_a_burst_spreads()
    {
        var board = Board(("a", new NodeLoad(0, 0, 4)), ("b", new NodeLoad(0, 0, 4)));
        var policy = new LeastLoadPolicy(board, new Random(7));
        var counts = new Dictionary<string, int>(StringComparer.Ordinal) { ["a"] = 0, ["b"] = 0 };

        for (var i = 0; i < 20; i++)
        {
            var chosen = policy.PickDestination(new DefaultHttpContext(), null!, Destinations("a", "b"))!.DestinationId;
            board.RecordSent(chosen);
            counts[chosen]++;
        }

        Assert.Equal(10, counts["a"]);
        Assert.Equal(10, counts["b"]);
    }

    [Fact]
    public void A_new_heartbeat_replaces_the_sent_count_with_the_reported_load()
    {
        var board = Board(("a", new NodeLoad(0, 0, 4)));
        board.RecordSent("a");
        board.RecordSent("a");
        Assert.Equal(0.5, board.Backlog("a"));

        board.Update([new NodeRecord("a", NodeRole.Worker, "http://a", new NodeLoad(1, 0, 4), Heartbeat.AddSeconds(1), TimeSpan.Zero)]);

        Assert.Equal(0.25, board.Backlog("a"));
    }

    [Fact]
    public void The_same_heartbeat_read_again_keeps_the_sent_count()
    {
        var board = Board(("a", new NodeLoad(0, 0, 4)));
        board.RecordSent("a");

        board.Update([new NodeRecord("a", NodeRole.Worker, "http://a", new NodeLoad(0, 0, 4), Heartbeat, TimeSpan.Zero)]);

        Assert.Equal(0.25, board.Backlog("a"));
    }

    [Fact]
    public void Ties_are_broken_at_random_among_the_least_loaded_only()
    {
        var board = Board(("a", new NodeLoad(0, 0, 4)), ("b", new NodeLoad(0, 0, 4)), ("busy", new NodeLoad(4, 4, 4)));
        var picks = new HashSet<string>(StringComparer.Ordinal);
        var policy = new LeastLoadPolicy(board, new Random(1));

        for (var i = 0; i < 50; i++)
        {
            picks.Add(policy.PickDestination(new DefaultHttpContext(), null!, Destinations("a", "b", "busy"))!.DestinationId);
        }

        Assert.Equal(["a", "b"], picks.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void No_available_destination_picks_none()
    {
        Assert.Null(new LeastLoadPolicy(new WorkerLoadBoard(), new Random(1)).PickDestination(new DefaultHttpContext(), null!, []));
    }

    [Fact]
    public void A_worker_that_left_the_registry_leaves_the_board()
    {
        var board = Board(("a", new NodeLoad(4, 4, 4)), ("b", new NodeLoad(0, 0, 4)));

        board.Update([new NodeRecord("b", NodeRole.Worker, "http://b", new NodeLoad(0, 0, 4), Heartbeat, TimeSpan.Zero)]);

        Assert.Equal(0, board.Backlog("a"));
        Assert.Equal(["b"], board.Loads.Keys);
    }

    [Fact]
    public void Admission_refuses_only_when_every_healthy_worker_is_at_the_backlog_limit()
    {
        var board = Board(("a", new NodeLoad(10, 10, 2)), ("b", new NodeLoad(0, 1, 2)));
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var admission = new Admission(board, new RoutingMetrics(services.GetRequiredService<IMeterFactory>(), board), Microsoft.Extensions.Options.Options.Create(new Routing.RoutingOptions { MaxBacklogPerCapacity = 10 }));

        Assert.Equal(AdmissionDecision.Admit, admission.Decide(Destinations("a", "b")));
        Assert.Equal(AdmissionDecision.Overloaded, admission.Decide(Destinations("a")));
        Assert.Equal(AdmissionDecision.NoHealthyWorker, admission.Decide([]));
    }

    private static string Pick(WorkerLoadBoard board, params string[] ids) =>
        new LeastLoadPolicy(board, new Random(3)).PickDestination(new DefaultHttpContext(), null!, Destinations(ids))!.DestinationId;

    private static WorkerLoadBoard Board(params (string Id, NodeLoad Load)[] workers)
    {
        var board = new WorkerLoadBoard();
        board.Update(workers.Select(w => new NodeRecord(w.Id, NodeRole.Worker, $"http://{w.Id}", w.Load, Heartbeat, TimeSpan.Zero)));
        return board;
    }

    private static List<DestinationState> Destinations(params string[] ids) => ids.Select(id => new DestinationState(id)).ToList();
}
