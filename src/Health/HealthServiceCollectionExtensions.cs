using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.Health.Availability;
using TaskServer.Health.Checks;

namespace TaskServer.Health;

public static class HealthServiceCollectionExtensions
{
    /// <summary>The meter every TaskServer module records into.</summary>
    public const string MeterName = "TaskServer";

    /// <summary>The API description's tag of the health endpoints.</summary>
    public const string HealthTag = "Health";

    /// <summary>
    /// Health checks for <c>/health/ready</c> (the database, plus what the caller adds for its role) and
    /// <c>/health/primary</c> (the <see cref="IPrimaryStatus"/> a gateway's failover agent provides); availability tracking.
    /// </summary>
    public static IHealthChecksBuilder AddTaskServerHealth(this IServiceCollection services)
    {
        services.AddSingleton<AvailabilityTracker>();
        return services.AddHealthChecks()
            .AddCheck<StorageHealthCheck>("database", tags: [HealthTags.Ready, HealthTags.Worker])
            .AddCheck<PrimaryStatusHealthCheck>("primary", tags: [HealthTags.Primary]);
    }

    /// <summary>
    /// <c>/health/live</c> (the process answers), <c>/health/ready</c>, <c>/health/worker</c> and <c>/health/primary</c>;
    /// 503 when unhealthy. Each carries its description for the API document, with the body it writes (<see cref="HealthAnswer"/>).
    /// Anyone gets the statuses; only requests that <paramref name="showDetails"/> admits get the checks' descriptions.
    /// </summary>
    public static IEndpointRouteBuilder MapTaskServerHealth(this IEndpointRouteBuilder endpoints, Func<HttpContext, bool> showDetails)
    {
        var tracker = endpoints.ServiceProvider.GetRequiredService<AvailabilityTracker>();
        endpoints.MapHealthChecks("/health/live", Options("live", tracker, showDetails, _ => false))
            .Describe("HealthLive", "Is the process answering?", "Runs no check: 200 whenever the process can answer at all.", unhealthy: false);
        endpoints.MapHealthChecks("/health/ready", Options("ready", tracker, showDetails, check => check.Tags.Contains(HealthTags.Ready)))
            .Describe("HealthReady", "Can this node do its work?", "The database; on a worker its Hangfire server; on a gateway at least one healthy worker. Backups probe the primary here.");
        endpoints.MapHealthChecks("/health/worker", Options("worker", tracker, showDetails, check => check.Tags.Contains(HealthTags.Worker)))
            .Describe("HealthWorker", "Can this node take a task?", "The database and the Hangfire server: what gateways probe before routing to a worker.");
        endpoints.MapHealthChecks("/health/primary", Options("primary", tracker, showDetails, check => check.Tags.Contains(HealthTags.Primary)))
            .Describe("HealthPrimary", "Is this gateway the primary?", "200 only on the holder of the primary lease, as its failover agent knows it.");
        return endpoints;
    }

    private static void Describe(this IEndpointConventionBuilder endpoint, string name, string summary, string description, bool unhealthy = true)
    {
        endpoint
            .WithName(name)
            .WithTags(HealthTag)
            .WithSummary(summary)
            .WithDescription(description)
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(HealthAnswer), ["application/json"]) { Description = "Healthy or Degraded." });
        if (unhealthy)
        {
            endpoint.WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status503ServiceUnavailable, typeof(HealthAnswer), ["application/json"]) { Description = "Unhealthy: the same body, naming the failing checks." });
        }
    }

    private static HealthCheckOptions Options(string endpoint, AvailabilityTracker tracker, Func<HttpContext, bool> showDetails, Func<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration, bool> predicate) => new()
    {
        Predicate = predicate,
        ResponseWriter = HealthResponseWriter.For(endpoint, tracker, showDetails),
        AllowCachingResponses = false,
    };
}
