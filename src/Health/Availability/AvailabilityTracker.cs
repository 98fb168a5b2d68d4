using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TaskServer.Health.Availability;

/// <summary>
/// What a node's own health endpoints have answered since it started: uptime, results per endpoint,
/// the last failure. Exported as metrics and shown in the health responses.
/// </summary>
public sealed class AvailabilityTracker
{
    private readonly TimeProvider timeProvider;
    private readonly DateTimeOffset startedAt;
    private readonly ConcurrentDictionary<string, EndpointCounts> endpoints = new(StringComparer.Ordinal);
    private readonly Counter<long> results;
    private volatile LastFailure? lastFailure;

    public AvailabilityTracker(TimeProvider timeProvider, IMeterFactory meters)
    {
        this.timeProvider = timeProvider;
        startedAt = timeProvider.GetUtcNow();
        var meter = meters.Create(HealthServiceCollectionExtensions.MeterName);
        results = meter.CreateCounter<long>("taskserver.health.checks", description: "Health endpoint answers by endpoint and status.");
        meter.CreateObservableGauge("taskserver.uptime", () => Uptime.TotalSeconds, unit: "s", description: "Time since the node started.");
    }

    public TimeSpan Uptime => timeProvider.GetUtcNow() - startedAt;

    public AvailabilitySnapshot Snapshot() => new(
        startedAt,
        Uptime,
        endpoints.ToDictionary(e => e.Key, e => new EndpointAvailability(Interlocked.Read(ref e.Value.Passed), Interlocked.Read(ref e.Value.Failed)), StringComparer.Ordinal),
        lastFailure);

    internal void Record(string endpoint, HealthReport report)
    {
        var counts = endpoints.GetOrAdd(endpoint, _ => new EndpointCounts());
        if (report.Status == HealthStatus.Unhealthy)
        {
            Interlocked.Increment(ref counts.Failed);
            var failing = report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy).Select(e => $"{e.Key}: {e.Value.Description}");
            lastFailure = new LastFailure(endpoint, timeProvider.GetUtcNow(), string.Join("; ", failing));
        }
        else
        {
            Interlocked.Increment(ref counts.Passed);
        }

        results.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("status", report.Status.ToString()));
    }

    private sealed class EndpointCounts
    {
        public long Passed;
        public long Failed;
    }
}

public sealed record EndpointAvailability(long Passed, long Failed);

public sealed record LastFailure(string Endpoint, DateTimeOffset At, string Description);

public sealed record AvailabilitySnapshot(DateTimeOffset StartedAt, TimeSpan Uptime, IReadOnlyDictionary<string, EndpointAvailability> Endpoints, LastFailure? LastFailure);
