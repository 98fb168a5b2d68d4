using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using TaskServer.LoadManager.Balancing;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace TaskServer.LoadManager.Tests;

public sealed class WorkerFailurePolicyTests
{
    private readonly FakeTimeProvider time = new();
    private readonly RecordingUpdater updater = new();
    private readonly ClusterState cluster = new("workers", new ClusterModel(new ClusterConfig { ClusterId = "workers" }, new HttpMessageInvoker(new SocketsHttpHandler())));
    private readonly DestinationState worker = new("w1");

    [Fact]
    public void One_transport_failure_takes_the_worker_out_at_once()
    {
        var policy = new WorkerFailurePolicy(updater, time);

        policy.RequestProxied(Answer(StatusCodes.Status502BadGateway, ForwarderError.Request), cluster, worker);

        Assert.Equal(DestinationHealth.Unhealthy, updater.Last);
    }

    [Fact]
    public void A_fifth_of_answers_being_5xx_takes_the_worker_out_and_fewer_do_not()
    {
        var policy = new WorkerFailurePolicy(updater, time);

        // One in six fails: under the limit.
        for (var i = 0; i < 12; i++)
        {
            policy.RequestProxied(Answer(i % 6 == 0 ? 500 : 202), cluster, worker);
            time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(DestinationHealth.Healthy, updater.Last);

        // Two more failures in the window: 4 of 14.
        policy.RequestProxied(Answer(500), cluster, worker);
        policy.RequestProxied(Answer(500), cluster, worker);
        Assert.Equal(DestinationHealth.Unhealthy, updater.Last);
    }

    [Fact]
    public void Failures_older_than_the_window_no_longer_count()
    {
        var policy = new WorkerFailurePolicy(updater, time);
        for (var i = 0; i < 10; i++)
        {
            policy.RequestProxied(Answer(500), cluster, worker);
        }

        Assert.Equal(DestinationHealth.Unhealthy, updater.Last);
        time.Advance(WorkerFailurePolicy.Window + TimeSpan.FromSeconds(1));
        for (var i = 0; i < 10; i++)
        {
            policy.RequestProxied(Answer(202), cluster, worker);
        }

        Assert.Equal(DestinationHealth.Healthy, updater.Last);
    }

    [Fact]
    public void Too_few_answers_decide_nothing_from_their_status()
    {
        var policy = new WorkerFailurePolicy(updater, time);

        for (var i = 0; i < WorkerFailurePolicy.MinimalCount - 1; i++)
        {
            policy.RequestProxied(Answer(500), cluster, worker);
        }

        Assert.Equal(DestinationHealth.Healthy, updater.Last);
    }

    private static DefaultHttpContext Answer(int status, ForwarderError error = ForwarderError.None)
    {
        var context = new DefaultHttpContext();
        context.Response.StatusCode = status;
        if (error != ForwarderError.None)
        {
            context.Features.Set<IForwarderErrorFeature>(new Failure(error));
        }

        return context;
    }

    private sealed record Failure(ForwarderError Error) : IForwarderErrorFeature
    {
        public Exception? Exception => null;
    }

    private sealed class RecordingUpdater : IDestinationHealthUpdater
    {
        public DestinationHealth? Last { get; private set; }

        public void SetActive(ClusterState cluster, IEnumerable<NewActiveDestinationHealth> newHealthStates) => throw new NotSupportedException();

        public void SetPassive(ClusterState cluster, DestinationState destination, DestinationHealth newHealth, TimeSpan reactivationPeriod) => Last = newHealth;
    }
}
