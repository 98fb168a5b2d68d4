using Hangfire;
using Hangfire.Common;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TaskServer.Host.Api;
using TaskServer.Host.ApiDescription;
using TaskServer.Host.Auth;
using TaskServer.Host.Cluster;
using TaskServer.Host.Dashboard;
using TaskServer.Host.Execution;
using TaskServer.Host.Faults;
using TaskServer.Host.Node;
using TaskServer.LoadManager;
using TaskServer.Failover;
using TaskServer.Failover.Sweeping;
using TaskServer.Health;
using TaskServer.LoadManager.Balancing;
using TaskServer.LoadManager.Routing;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using TaskServer.Host.Telemetry;
using TaskServer.StorageManager;
using Yarp.ReverseProxy.Transforms;

namespace TaskServer.Host;

/// <summary>The composition root: what a node runs follows from <c>Node:Role</c>.</summary>
internal static class NodeComposition
{
    /// <summary>The header with which a backup names the primary gateway's URL.</summary>
    public const string PrimaryHeader = "X-TaskServer-Primary";

    /// <summary>What a rejected submission is told to wait: about one heartbeat and one health probe.</summary>
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    public static void AddTaskServerNode(this IServiceCollection services, IConfiguration configuration)
    {
        var node = configuration.GetSection(NodeOptions.SectionName).Get<NodeOptions>() ?? new NodeOptions();
        services.AddOptions<NodeOptions>().Bind(configuration.GetSection(NodeOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ExecutionOptions>().Bind(configuration.GetSection(ExecutionOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<NodeIdentity>();
        services.AddOptions<FaultOptions>().Bind(configuration.GetSection(FaultOptions.SectionName));
        services.AddSingleton<FaultState>();
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            // An unreachable database is the caller's cue to retry (elsewhere), not a server bug.
            if (context.Exception is { } exception && context.HttpContext.RequestServices.GetRequiredService<StorageErrors>().IsUnavailable(exception))
            {
                context.ProblemDetails.Type = ProblemType.StorageUnavailable.Urn;
                context.ProblemDetails.Title = "The database cannot be reached.";
                context.ProblemDetails.Detail = "Retry later.";
                context.HttpContext.Response.Headers.RetryAfter = "1";
            }
        });
        services.AddTaskStorage(configuration);
        services.AddHostedService<NodeHeartbeatService>();
        var healthChecks = services.AddTaskServerHealth();
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>();
        services.AddSingleton<TaskTracing>();
        var telemetry = configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(telemetry.ServiceName, serviceInstanceId: node.Name))
            .WithMetrics(metrics => metrics.AddMeter(HealthServiceCollectionExtensions.MeterName).AddPrometheusExporter())
            .WithTracing(tracing =>
            {
                // Always on, exporter or not: the spans carry the W3C context from the client through YARP to the
                // worker's intake, whose span is stored on the task, so every attempt joins the submission's trace.
                tracing
                    .AddSource(TaskTracing.SourceName, "Yarp.ReverseProxy")
                    .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !IsProbe(context.Request.Path))
                    .AddHttpClientInstrumentation(http => http.FilterHttpRequestMessage = request => request.RequestUri is null || !IsProbe(request.RequestUri.AbsolutePath));
                if (telemetry.OtlpEndpoint.Length > 0)
                {
                    // A span per statement costs more than the statement's own bookkeeping on the hot path: only when exported.
                    tracing.AddSource("Npgsql").AddOtlpExporter(otlp => otlp.Endpoint = new Uri(telemetry.OtlpEndpoint));
                }
            });

        // Hangfire's filters come from DI rather than its process-wide GlobalJobFilters: only attribute
        // filters apply, so there is no hidden default AutomaticRetry; TaskJob owns attempts and retries.
        services.AddSingleton<IJobFilterProvider>(new JobFilterAttributeFilterProvider());
        services.AddHangfire(hangfire => hangfire
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
        services.AddSingleton<DrainJobs>();
        services.AddSingleton<TaskArrivals>();
        services.AddSingleton<TaskMetrics>();

        if (node.RunsWorker)
        {
            AddWorker(services);
            healthChecks.AddCheck<HangfireServerHealthCheck>("hangfire", tags: [HealthTags.Ready, HealthTags.Worker]);
        }

        if (node.RunsGateway)
        {
            AddGateway(services, configuration, healthChecks);
        }
    }

    public static void MapTaskServerNode(this WebApplication app)
    {
        var node = app.Services.GetRequiredService<IOptions<NodeOptions>>().Value;
        var storageErrors = app.Services.GetRequiredService<StorageErrors>();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => storageErrors.IsUnavailable(exception) ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError,
        });
        app.MapFaultInjection();
        app.MapTaskServerHealth();
        app.MapPrometheusScrapingEndpoint("/metrics");

        if (node.RunsWorker)
        {
            app.MapTaskIntake();
        }

        if (node.RunsGateway)
        {
            app.UseWhen(
                context => context.Request.Path.StartsWithSegments("/tasks", StringComparison.Ordinal),
                tasks => tasks.Use(async (context, next) =>
                {
                    // Backups serve no client call: they name the primary so a client can follow it.
                    var primary = context.RequestServices.GetRequiredService<IPrimaryStatus>().Current;
                    if (!primary.IsPrimary)
                    {
                        if (primary.PrimaryUrl is { } url)
                        {
                            context.Response.Headers[PrimaryHeader] = url;
                        }

                        await Problems.NotPrimary(primary.PrimaryUrl, RetryAfter).ExecuteAsync(context);
                        return;
                    }

                    await next();
                }));
            app.UseAuthentication();
            app.UseAuthorization();
            app.MapTaskApi();
            app.MapClusterView();
            app.MapApiDocument();
            var execution = app.Services.GetRequiredService<IOptions<ExecutionOptions>>().Value;
            var admission = app.Services.GetRequiredService<Admission>();
            app.MapReverseProxy(proxy =>
            {
                proxy.Use(async (context, next) =>
                {
                    if (context.Request.ContentLength > execution.MaxPayloadBytes)
                    {
                        await Problems.PayloadTooLarge(execution.MaxPayloadBytes).ExecuteAsync(context);
                        return;
                    }

                    var decision = admission.Decide(context.GetReverseProxyFeature().AvailableDestinations);
                    if (decision != AdmissionDecision.Admit)
                    {
                        var problem = decision == AdmissionDecision.Overloaded ? Problems.Overloaded(RetryAfter) : Problems.NoHealthyWorker(RetryAfter);
                        await problem.ExecuteAsync(context);
                        return;
                    }

                    await next();
                });
                proxy.UseLoadBalancing();
                proxy.Use((context, next) =>
                {
                    // After balancing, the available list is the one destination chosen.
                    if (context.GetReverseProxyFeature().AvailableDestinations is [var chosen])
                    {
                        admission.RecordDispatch(chosen.DestinationId);
                    }

                    return next();
                });
                proxy.UsePassiveHealthChecks();
            });

            var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
            ClusterDashboard.AddClusterPage();
            TaskDashboard.AddTaskPages();
            app.UseHangfireDashboard("/hangfire", new DashboardOptions
            {
                DashboardTitle = "TaskServer",
                Authorization = [new DashboardAuthorization([.. auth.AdminKeys])],
                DisplayStorageConnectionString = false,
            });
        }
    }

    private static void AddWorker(IServiceCollection services)
    {
        services.AddTaskHandler<EchoHandler>();
        services.AddTaskHandler<SleepHandler>();
        services.AddTaskHandler<HashHandler>();
        services.AddTaskHandler<FailHandler>();
        services.AddTaskHandler<CallbackHandler>();
        services.AddHttpClient(CallbackHandler.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<TaskHandlers>();
        services.AddSingleton<TaskIntake>();
        services.AddSingleton<RunningAttempts>();
        services.AddSingleton<AttemptOutcomes>();
        services.AddSingleton<AttemptRunner>();
        services.AddSingleton<TaskDrain>();
        services.AddHostedService(provider => provider.GetRequiredService<TaskDrain>());
        services.AddTransient<TaskDrainJob>();
        services.AddHangfireServer((provider, server) =>
        {
            var identity = provider.GetRequiredService<NodeIdentity>();
            server.ServerName = identity.Id;
            server.Queues = [identity.Queue];

            // One drain job runs all of a worker's tasks (Node:Capacity at once); a second thread picks up the next
            // drain while the last one finishes. Each idle thread polls its queue, so more would only cost statements.
            server.WorkerCount = 2;

            // No job is scheduled for later (retries wait in the task table), and a drain job is stopped from the
            // dashboard only: neither needs Hangfire's one-second polls.
            server.SchedulePollingInterval = TimeSpan.FromSeconds(15);
            server.CancellationCheckInterval = TimeSpan.FromSeconds(5);
        });
    }

    private static void AddGateway(IServiceCollection services, IConfiguration configuration, IHealthChecksBuilder healthChecks)
    {
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(TaskRoutes.ClientPolicy, policy => policy.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser());

        services.AddTaskRouting(healthChecks, HealthTags.Ready).AddTransforms(transforms => transforms.AddRequestTransform(context =>
        {
            // The worker scopes idempotency keys by client; the gateway, not the client, names it.
            var client = context.HttpContext.User.FindFirst(ApiKeyAuthenticationHandler.ClientIdClaim)?.Value ?? "";
            context.ProxyRequest.Headers.Remove(TaskRoutes.ClientIdHeader);
            context.ProxyRequest.Headers.TryAddWithoutValidation(TaskRoutes.ClientIdHeader, client);
            return ValueTask.CompletedTask;
        }));
        services.AddSingleton<IExecutionJobs>(provider => provider.GetRequiredService<DrainJobs>());
        services.AddSingleton<ClusterViewBuilder>();
        services.AddSingleton<TaskCounts>();
        services.AddApiDocument();
        services.AddFailover();
        services.AddOptions<FailoverOptions>()
            .Bind(configuration.GetSection(FailoverOptions.SectionName))
            .Configure<NodeIdentity, IOptions<NodeOptions>>((failover, identity, node) =>
            {
                failover.NodeId = identity.Id;
                failover.NodeUrl = identity.Url;
                failover.WorkerTimeout = node.Value.WorkerTimeout;
            });
        services.AddOptions<RoutingOptions>()
            .Bind(configuration.GetSection(RoutingOptions.SectionName))
            .Configure<IOptions<NodeOptions>>((routing, node) =>
            {
                routing.ClusterSecret = node.Value.ClusterSecret;
                routing.WorkerTimeout = node.Value.WorkerTimeout;
            });
    }

    /// <summary>Health probes and scrapes run several times a second on every node; traced, they would drown the tasks.</summary>
    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);

    private static bool IsProbe(string path) => IsProbe(new PathString(path));
}
