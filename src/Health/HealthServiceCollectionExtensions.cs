using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.Health.Availability;
using TaskServer.Health.Checks;

namespace TaskServer.Health;

public static class HealthServiceCollectionExtensions
{
    /// <summary>The meter every TaskServer module records into.</summary>
    public const string MeterName = "TaskServer";

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

    /// <summary><c>/health/live</c> (the process answers), <c>/health/ready</c>, <c>/health/worker</c> and <c>/health/primary</c>; 503 when unhealthy.</summary>
    public static IEndpointRouteBuilder MapTaskServerHealth(this IEndpointRouteBuilder endpoints)
    {
        var tracker = endpoints.ServiceProvider.GetRequiredService<AvailabilityTracker>();
        endpoints.MapHealthChecks("/health/live", Options("live", tracker, _ => false));
        endpoints.MapHealthChecks("/health/ready", Options("ready", tracker, check => check.Tags.Contains(HealthTags.Ready)));
        endpoints.MapHealthChecks("/health/worker", Options("worker", tracker, check => check.Tags.Contains(HealthTags.Worker)));
        endpoints.MapHealthChecks("/health/primary", Options("primary", tracker, check => check.Tags.Contains(HealthTags.Primary)));
        return endpoints;
    }

    private static HealthCheckOptions Options(string endpoint, AvailabilityTracker tracker, Func<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration, bool> predicate) => new()
    {
        Predicate = predicate,
        ResponseWriter = HealthResponseWriter.For(endpoint, tracker),
        AllowCachingResponses = false,
    };
}
