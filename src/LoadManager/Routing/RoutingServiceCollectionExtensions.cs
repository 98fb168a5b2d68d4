using Microsoft.Extensions.DependencyInjection;
using TaskServer.LoadManager.Routing;

namespace TaskServer.LoadManager;

public static class RoutingServiceCollectionExtensions
{
    /// <summary>
    /// YARP with the task routes and a worker cluster kept in step with the node registry.
    /// The caller binds <see cref="RoutingOptions"/> and maps the proxy.
    /// </summary>
    public static IReverseProxyBuilder AddTaskRouting(this IServiceCollection services)
    {
        services.AddOptions<RoutingOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<WorkerDestinationsService>();
        return services.AddReverseProxy().LoadFromMemory([], []);
    }
}
