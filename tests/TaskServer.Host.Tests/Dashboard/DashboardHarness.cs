using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using TaskServer.Failover;
using TaskServer.Failover.Leadership;
using TaskServer.Host.Cluster;
using TaskServer.Host.Dashboard;
using TaskServer.Host.Node;
using TaskServer.LoadManager.Balancing;
using TaskServer.LoadManager.Routing;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace TaskServer.Host.Tests.Dashboard;

/// <summary>
/// Dispatches one request through Hangfire's own route table, as its middleware does after the dashboard's
/// authorization: the page gets Hangfire's layout and menu, and the request's services are the test's.
/// </summary>
public static class DashboardHarness
{
    /// <summary>
    /// What every dashboard page needs from the request's services, whichever page the test is about: the menu and the
    /// home page carry the Cluster and Tasks tiles (Hangfire's registries are process-wide, so both are registered in
    /// a test process that has met either). A test registers its own stores first; these fill in the rest.
    /// </summary>
    public static IServiceCollection AddDashboardServices(this IServiceCollection services)
    {
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IHostApplicationLifetime, ApplicationLifetime>();
        services.TryAddSingleton<INodeRegistry>(new FixedRegistry([]));
        services.TryAddSingleton<IFailoverLog>(new FixedFailoverLog([]));
        services.TryAddSingleton(provider => new LeadershipState(provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(new WorkerRouting(new NoProxyState()));
        services.TryAddSingleton(new NodeIdentity(Options.Create(new NodeOptions { Name = "gw", Url = "http://127.0.0.1:5080" })));
        services.TryAddSingleton(Options.Create(new FailoverOptions()));
        services.TryAddSingleton(Options.Create(new NodeOptions()));
        services.TryAddSingleton(Options.Create(new RoutingOptions()));
        services.TryAddSingleton<ClusterViewBuilder>();
        services.TryAddSingleton(DispatchProxy.Create<ITaskStore, NoTasks>());
        services.TryAddSingleton<TaskCounts>();
        return services;
    }

    public static async Task<(int Status, string Body)> GetAsync(IServiceProvider services, string path, string query = "")
    {
        var http = NewContext(services, path);
        http.Request.QueryString = new QueryString(query);
        return await DispatchAsync(http);
    }

    /// <summary>What the dashboard's script posts to <c>/stats</c> to re-poll the tiles it shows.</summary>
    public static async Task<(int Status, string Body)> PollStatsAsync(IServiceProvider services, IEnumerable<string> metrics)
    {
        var http = NewContext(services, "/stats");
        var form = string.Join("&", metrics.Select(name => "metrics%5B%5D=" + Uri.EscapeDataString(name)));
        http.Request.Method = HttpMethods.Post;
        http.Request.ContentType = "application/x-www-form-urlencoded";
        http.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(form));
        return await DispatchAsync(http);
    }

    private static DefaultHttpContext NewContext(IServiceProvider services, string path)
    {
        var http = new DefaultHttpContext { RequestServices = services };
        http.Request.PathBase = "/hangfire";
        http.Request.Path = path;
        http.Response.Body = new MemoryStream();
        return http;
    }

    private static async Task<(int Status, string Body)> DispatchAsync(DefaultHttpContext http)
    {
        var context = new AspNetCoreDashboardContext(new StatisticsOnlyStorage(), new DashboardOptions(), http);
        var route = DashboardRoutes.Routes.FindDispatcher(http.Request.Path.Value!)
            ?? throw new InvalidOperationException($"No dashboard route matches {http.Request.Path}.");
        context.UriMatch = route.Item2;

        await route.Item1.Dispatch(context);

        return (http.Response.StatusCode, Encoding.UTF8.GetString(((MemoryStream)http.Response.Body).ToArray()));
    }

    /// <summary>The layout's menu asks Hangfire's storage for job counts; nothing else of it is used.</summary>
    private sealed class StatisticsOnlyStorage : JobStorage
    {
        public override IMonitoringApi GetMonitoringApi() => DispatchProxy.Create<IMonitoringApi, StatisticsOnlyMonitoring>();

        public override IStorageConnection GetConnection() => throw new NotSupportedException();
    }

    public class StatisticsOnlyMonitoring : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == nameof(IMonitoringApi.GetStatistics)
                ? new StatisticsDto { Retries = 0 }
                : throw new NotSupportedException(targetMethod?.Name);
    }

    /// <summary>A task store with no task, for pages that only show the tiles.</summary>
    public class NoTasks : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == nameof(ITaskStore.CountByStatusAsync)
                ? Task.FromResult<IReadOnlyDictionary<TaskState, long>>(Enum.GetValues<TaskState>().ToDictionary(state => state, _ => 0L))
                : throw new NotSupportedException(targetMethod?.Name);
    }

    internal sealed class FixedRegistry(IReadOnlyList<NodeRecord> nodes) : INodeRegistry
    {
        public Task HeartbeatAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ActiveCounts> HeartbeatWithLoadAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<NodeRecord>> ListAsync(CancellationToken cancellationToken) => Task.FromResult(nodes);

        public Task<IReadOnlyList<NodeRecord>> ListLiveAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.FromResult(nodes);

        public Task<EvictOutcome> EvictAsync(string nodeId, TimeSpan timeout, Fence fence, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task LeaveAsync(string nodeId, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    internal sealed class FixedFailoverLog(IReadOnlyList<FailoverEvent> failovers) : IFailoverLog
    {
        public Task RecordAsync(FailoverEvent failover, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<FailoverEvent>> ListAsync(string leaseName, int limit, CancellationToken cancellationToken) => Task.FromResult(failovers);
    }

    /// <summary>A gateway before its first refresh: YARP knows no worker cluster yet.</summary>
    internal sealed class NoProxyState : IProxyStateLookup
    {
        public bool TryGetRoute(string id, [NotNullWhen(true)] out RouteModel? route)
        {
            route = null;
            return false;
        }

        public IEnumerable<RouteModel> GetRoutes() => [];

        public bool TryGetCluster(string id, [NotNullWhen(true)] out ClusterState? cluster)
        {
            cluster = null;
            return false;
        }

        public IEnumerable<ClusterState> GetClusters() => [];
    }
}
