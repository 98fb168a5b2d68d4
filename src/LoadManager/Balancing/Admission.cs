using Microsoft.Extensions.Options;
using TaskServer.LoadManager.Routing;
using Yarp.ReverseProxy.Model;

namespace TaskServer.LoadManager.Balancing;

public enum AdmissionDecision
{
    Admit,
    /// <summary>No worker is healthy: 503.</summary>
    NoHealthyWorker,
    /// <summary>Every healthy worker's backlog is at the limit: 429, rather than piling more on.</summary>
    Overloaded,
}

/// <summary>Decides, before balancing, whether a submission can be placed at all.</summary>
public sealed class Admission(WorkerLoadBoard board, RoutingMetrics metrics, IOptions<RoutingOptions> options)
{
    public AdmissionDecision Decide(IReadOnlyList<DestinationState> availableDestinations)
    {
        if (availableDestinations.Count == 0)
        {
            return AdmissionDecision.NoHealthyWorker;
        }

        var limit = options.Value.MaxBacklogPerCapacity;
        return availableDestinations.All(d => board.Backlog(d.DestinationId) >= limit) ? AdmissionDecision.Overloaded : AdmissionDecision.Admit;
    }

    /// <summary>Counts a submission against the worker balancing chose, until its next heartbeat.</summary>
    public void RecordDispatch(string workerId)
    {
        board.RecordSent(workerId);
        metrics.RecordProxied(workerId);
    }
}
