using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace TaskServer.LoadManager.Balancing;

/// <summary>
/// Passive health for workers, as YARP's <c>TransportFailureRate</c> sees it and more: a transport failure (refused,
/// reset, timed out) takes the worker out of rotation at once, and so does a share of 5xx answers of at least
/// <see cref="FailureRateLimit"/> over the last <see cref="Window"/> (with <see cref="MinimalCount"/> answers in it).
/// YARP's own policy counts only transport failures, so a worker that answers but fails a third of its submissions
/// stayed in rotation; the experiment's intermittent phase measured it.
/// </summary>
public sealed class WorkerFailurePolicy(IDestinationHealthUpdater healthUpdater, TimeProvider timeProvider) : IPassiveHealthCheckPolicy
{
    public const string PolicyName = "WorkerFailures";

    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    public const double FailureRateLimit = 0.2;
    public const int MinimalCount = 10;

    private static readonly TimeSpan DefaultReactivation = TimeSpan.FromSeconds(2);

    private readonly ConditionalWeakTable<DestinationState, AnswerHistory> histories = [];

    public string Name => PolicyName;

    public void RequestProxied(HttpContext context, ClusterState cluster, DestinationState destination)
    {
        // A client that went away says nothing about the worker.
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var transportFailed = context.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None };
        var answeredError = !transportFailed && context.Response.StatusCode >= StatusCodes.Status500InternalServerError;
        var history = histories.GetValue(destination, _ => new AnswerHistory());
        var unhealthy = transportFailed || history.Add(timeProvider.GetTimestamp(), answeredError, timeProvider);
        var reactivation = cluster.Model.Config.HealthCheck?.Passive?.ReactivationPeriod ?? DefaultReactivation;
        healthUpdater.SetPassive(cluster, destination, unhealthy ? DestinationHealth.Unhealthy : DestinationHealth.Healthy, reactivation);
    }

    /// <summary>The answers of one worker within the window: each a timestamp and whether it was a 5xx.</summary>
    private sealed class AnswerHistory
    {
        private readonly Queue<(long At, bool Failed)> answers = new();
        private int failed;

        /// <summary>Records an answer; true when the window's failure rate is at or over the limit.</summary>
        public bool Add(long now, bool isFailure, TimeProvider timeProvider)
        {
            lock (answers)
            {
                answers.Enqueue((now, isFailure));
                failed += isFailure ? 1 : 0;
                while (answers.TryPeek(out var oldest) && timeProvider.GetElapsedTime(oldest.At, now) > Window)
                {
                    answers.Dequeue();
                    failed -= oldest.Failed ? 1 : 0;
                }

                return answers.Count >= MinimalCount && (double)failed / answers.Count >= FailureRateLimit;
            }
        }
    }
}
