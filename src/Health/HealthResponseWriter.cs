using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using TaskServer.Health.Availability;

namespace TaskServer.Health;

/// <summary>Health answers as JSON: overall status, each check with its status, duration and description, and the node's availability.</summary>
internal static class HealthResponseWriter
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Func<HttpContext, HealthReport, Task> For(string endpoint, AvailabilityTracker tracker) => (context, report) =>
    {
        tracker.Record(endpoint, report);
        context.Response.ContentType = "application/json; charset=utf-8";
        var availability = tracker.Snapshot();
        var body = new
        {
            status = report.Status.ToString(),
            durationMs = report.TotalDuration.TotalMilliseconds,
            checks = report.Entries.Select(entry => new
            {
                name = entry.Key,
                status = entry.Value.Status.ToString(),
                durationMs = entry.Value.Duration.TotalMilliseconds,
                description = entry.Value.Description,
                data = entry.Value.Data.Count == 0 ? null : entry.Value.Data,
            }),
            availability = new
            {
                startedAt = availability.StartedAt,
                uptimeSeconds = Math.Round(availability.Uptime.TotalSeconds, 1),
                endpoints = availability.Endpoints,
                lastFailure = availability.LastFailure,
            },
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, Json, context.RequestAborted);
    };
}
