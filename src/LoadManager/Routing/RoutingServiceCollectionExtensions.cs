using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TaskServer.LoadManager.Balancing;
using TaskServer.LoadManager.Routing;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;

namespace TaskServer.LoadManager;

public static class RoutingServiceCollectionExtensions
{
    /// <summary>
    /// YARP with the task routes, a worker cluster kept in step with the node registry, the LeastLoad
    /// policy beside YARP's own, admission control and a readiness check that a worker is healthy.
    /// The caller binds <see cref="RoutingOptions"/> and maps the proxy.
    /// </summary>
    public static IReverseProxyBuilder AddTaskRouting(this IServiceCollection services, IHealthChecksBuilder healthChecks, string readyTag)
    {
        services.AddOptions<RoutingOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        services.AddSingleton<WorkerLoadBoard>();
        services.AddSingleton<RoutingMetrics>();
        services.AddSingleton<Admission>();
        services.AddSingleton<WorkerRouting>();
        services.AddSingleton<ILoadBalancingPolicy>(provider => new LeastLoadPolicy(provider.GetRequiredService<WorkerLoadBoard>(), Random.Shared));
        services.AddHostedService<WorkerDestinationsService>();

        services.AddSingleton<IPassiveHealthCheckPolicy, WorkerFailurePolicy>();
        healthChecks.AddCheck<HealthyWorkersHealthCheck>("workers", tags: [readyTag]);
        return services.AddReverseProxy().LoadFromMemory([], []);
    }
}
