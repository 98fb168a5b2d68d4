using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskServer.Health.Availability;

namespace TaskServer.Health;

/// <summary>
/// Health answers as JSON: overall status, each check with its status, duration and description, and the node's availability.
/// Descriptions and the last failure carry driver messages (hosts, ports): only callers that <c>showDetails</c> admits see them.
/// </summary>
internal static class HealthResponseWriter
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Func<HttpContext, HealthReport, Task> For(string endpoint, AvailabilityTracker tracker, Func<HttpContext, bool> showDetails) => (context, report) =>
    {
        tracker.Record(endpoint, report);
        context.Response.ContentType = "application/json; charset=utf-8";
        var details = showDetails(context);
        var availability = tracker.Snapshot();
        var body = new HealthAnswer(
            report.Status.ToString(),
            report.TotalDuration.TotalMilliseconds,
            [.. report.Entries.Select(entry => new HealthCheckAnswer(
                entry.Key,
                entry.Value.Status.ToString(),
                entry.Value.Duration.TotalMilliseconds,
                details ? entry.Value.Description : null,
                entry.Value.Data.Count == 0 ? null : entry.Value.Data))],
            new AvailabilityAnswer(availability.StartedAt, Math.Round(availability.Uptime.TotalSeconds, 1), availability.Endpoints, details ? availability.LastFailure : null));
        return JsonSerializer.SerializeAsync(context.Response.Body, body, Json, context.RequestAborted);
    };
}

/// <summary>The body of every health endpoint, healthy (200) or not (503).</summary>
/// <param name="Status">Healthy, Degraded or Unhealthy.</param>
/// <param name="DurationMs">How long the checks took.</param>
/// <param name="Checks">The checks this endpoint ran (none for /health/live).</param>
/// <param name="Availability">What this node's health endpoints have answered since it started.</param>
public sealed record HealthAnswer(string Status, double DurationMs, IReadOnlyList<HealthCheckAnswer> Checks, AvailabilityAnswer Availability);

/// <param name="Name">database, hangfire, workers or primary.</param>
/// <param name="Description">Why the check answered as it did (admin keys only).</param>
/// <param name="Status">Healthy, Degraded or Unhealthy.</param>
/// <param name="Data">What the check measured, when it says (for example the number of healthy workers).</param>
public sealed record HealthCheckAnswer(string Name, string Status, double DurationMs, string? Description, IReadOnlyDictionary<string, object>? Data);

/// <param name="Endpoints">Passed and failed answers per endpoint (live, ready, worker, primary).</param>
/// <param name="LastFailure">The last unhealthy answer, if any (admin keys only).</param>
public sealed record AvailabilityAnswer(DateTimeOffset StartedAt, double UptimeSeconds, IReadOnlyDictionary<string, EndpointAvailability> Endpoints, LastFailure? LastFailure);
