using System.Threading.RateLimiting;
using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.Options;
using TaskServer.Host.Api;
using TaskServer.Host.ApiDescription;
using TaskServer.Host.Auth;
using TaskServer.Host.Cluster;
using TaskServer.Host.Dashboard;
using TaskServer.Host.Execution;
using TaskServer.Host.Faults;
using TaskServer.Host.Node;
using TaskServer.Host.Quarantine;
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
using TaskServer.Host.Tls;
using TaskServer.StorageManager;
using Yarp.ReverseProxy.Forwarder;
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
        services.AddSingleton<IValidateOptions<NodeOptions>, NodeOptionsValidator>();
        services.AddOptions<ExecutionOptions>().Bind(configuration.GetSection(ExecutionOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<NodeIdentity>();
        services.AddOptions<FaultOptions>().Bind(configuration.GetSection(FaultOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FaultOptions>, FaultOptionsValidator>();
        services.AddSingleton<FaultState>();
        services.AddOptions<QuarantineOptions>().Bind(configuration.GetSection(QuarantineOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ResultQuarantine>();

        // Bound on every role: admin keys guard faults and health details on workers too. Gateways validate them.
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.SectionName));
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.SectionName));
        services.AddOptions<TlsOptions>().Bind(configuration.GetSection(TlsOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TlsOptions>, TlsOptionsValidator>();
        services.AddSingleton<CaTrust>();

        // Every client a node opens to another node (the backup's probe of the primary) trusts the cluster's CA.
        services.ConfigureHttpClientDefaults(http => http.ConfigurePrimaryHttpMessageHandler(provider => provider.GetRequiredService<CaTrust>().CreateHandler()));
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            // Kestrel's own verdict on a request (a body that ends early or arrives too slowly) is the client's error.
            if (context.Exception is BadHttpRequestException bad)
            {
                var problem = ProblemType.ForStatus(bad.StatusCode);
                context.ProblemDetails.Type = problem.Urn;
                context.ProblemDetails.Detail = bad.Message;
                return;
            }

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
        // filters apply, so there is no hidden default AutomaticRetry.
        services.AddSingleton<IJobFilterProvider>(new JobFilterAttributeFilterProvider());

        // Likewise the activator: Hangfire's default is JobActivator.Current, process-wide and set by whichever host
        // configured Hangfire last, which breaks several hosts in one process (the tests compose them).
        services.AddSingleton<JobActivator>(provider => new AspNetCoreJobActivator(provider.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire((provider, hangfire) => hangfire
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseLogProvider(new HangfireLogProvider(provider.GetRequiredService<ILoggerFactory>())));
        services.AddSingleton<TaskArrivals>();
        services.AddSingleton<LastHeartbeat>();
        services.AddSingleton<TaskMetrics>();
        services.AddSingleton<WorkerShutdown>();

        if (node.RunsWorker)
        {
            AddWorker(services);
            services.AddCrashTaskWhenFaultsEnabled(configuration);
            healthChecks.AddCheck<WorkerReadinessHealthCheck>("worker", tags: [HealthTags.Ready, HealthTags.Worker]);
        }

        if (node.RunsGateway)
        {
            AddGateway(services, configuration, healthChecks);
        }
    }

    public static void MapTaskServerNode(this WebApplication app)
    {
        var node = app.Services.GetRequiredService<IOptions<NodeOptions>>().Value;
        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        var storageErrors = app.Services.GetRequiredService<StorageErrors>();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception switch
            {
                BadHttpRequestException bad => bad.StatusCode,
                _ when storageErrors.IsUnavailable(exception) => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            },
        });

        // Whatever answers an error without a body (routing's 404/405, binding's 400, YARP's 502) answers problem+json.
        app.UseStatusCodePages(context => Problems.ForStatus(context.HttpContext.Response.StatusCode).ExecuteAsync(context.HttpContext));
        app.Use((context, next) =>
        {
            // Nothing here is meant to be framed (the dashboard's forms least of all) or sniffed into another type.
            context.Response.Headers.XFrameOptions = "DENY";
            context.Response.Headers.ContentSecurityPolicy = "frame-ancestors 'none'";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return next();
        });
        if (node.InternalUrl is { Length: > 0 } internalUrl)
        {
            app.UseInternalListener(new Uri(internalUrl).Port);
        }

        if (node.RunsGateway)
        {
            // Ahead of everything that can take time, an injected latency included: a slow answer is a 504 problem.
            app.UseRequestTimeouts();
        }

        app.MapFaultInjection();
        app.MapTaskServerHealth(context => AdminCredentials.Presented(context.Request, auth) == KeyRole.Admin);
        app.UseMetricsKey(app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value);
        app.MapPrometheusScrapingEndpoint("/metrics");

        if (node.RunsWorker)
        {
            app.MapTaskIntake();
        }

        if (node.RunsGateway)
        {
            app.UseAuthentication();
            app.UseWhen(
                context => context.Request.Path.StartsWithSegments("/tasks", StringComparison.OrdinalIgnoreCase) && context.User.Identity?.IsAuthenticated == true,
                tasks => tasks.Use(async (context, next) =>
                {
                    // Backups serve no client call: they name the primary so a client can follow it. Only to
                    // authenticated callers: an anonymous one is refused (401) before it learns where the primary is.
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
            app.UseAuthorization();
            app.UseRateLimiter();
            app.MapTaskApi();
            app.MapClusterView();
            app.MapApiDocument();
            var execution = app.Services.GetRequiredService<IOptions<ExecutionOptions>>().Value;
            var admission = app.Services.GetRequiredService<Admission>();
            app.MapReverseProxy(proxy =>
            {
                proxy.Use(async (context, next) =>
                {
                    if (!await SubmissionRetry.BodyFitsAsync(context, execution.MaxPayloadBytes))
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

                    await SubmissionRetry.ForwardAsync(context, () => next());
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

            ClusterDashboard.AddClusterPage();
            TaskDashboard.AddTaskPages();
            var dashboard = new DashboardAuthorization(auth);
            app.UseHangfireDashboard("/hangfire", new DashboardOptions
            {
                DashboardTitle = "TaskServer",
                Authorization = [dashboard],
                IsReadOnlyFunc = dashboard.IsReadOnly,
                DisplayStorageConnectionString = false,
            });
        }
    }

    /// <summary>
    /// The worker intake answers only on the internal listener, and that listener only serves what other nodes call
    /// (the intake, health probes, metrics, drills' faults): told apart by the port the connection arrived on, which a
    /// client cannot choose the way it chooses a Host header.
    /// </summary>
    private static void UseInternalListener(this WebApplication app, int internalPort) =>
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            var internalOnly = path.StartsWithSegments("/internal", StringComparison.OrdinalIgnoreCase);
            var onInternal = context.Connection.LocalPort == internalPort;
            var shared = path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
                || path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase)
                || path.StartsWithSegments(FaultEndpoints.Path, StringComparison.OrdinalIgnoreCase);
            if (onInternal ? internalOnly || shared : !internalOnly)
            {
                await next();
                return;
            }

            await Problems.ForStatus(StatusCodes.Status404NotFound).ExecuteAsync(context);
        });

    /// <summary>With <c>Metrics:Key</c> set, a scrape must present it as a Bearer token.</summary>
    private static void UseMetricsKey(this WebApplication app, MetricsOptions metrics)
    {
        if (metrics.Key.Length == 0)
        {
            return;
        }

        app.UseWhen(
            context => context.Request.Path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase),
            scrape => scrape.Use(async (context, next) =>
            {
                var header = context.Request.Headers.Authorization.ToString();
                if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && KeyRing.Contains([metrics.Key], header[7..].Trim()))
                {
                    await next();
                    return;
                }

                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Problems.InvalidApiKey().ExecuteAsync(context);
            }));
    }

    private static void AddWorker(IServiceCollection services)
    {
        services.AddTaskHandler<EchoHandler>();
        services.AddTaskHandler<SleepHandler>();
        services.AddTaskHandler<HashHandler>();
        services.AddTaskHandler<FailHandler>();
        services.AddTaskHandler<CallbackHandler>();
        // A redirect would take the worker's POST wherever the loopback service pointed it, off the loopback checked at submission.
        services.AddHttpClient(CallbackHandler.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddSingleton<TaskHandlers>();
        services.AddSingleton<TaskIntake>();
        services.AddSingleton<RunningAttempts>();
        services.AddSingleton<IAttemptFence, AttemptFence>();
        services.AddSingleton<AttemptOutcomes>();
        services.AddSingleton<RetryTargets>();
        services.AddSingleton<IResultVerdicts, QuarantineVerdicts>();
        services.AddHostedService<QuarantineProbe>();
        services.AddSingleton<AttemptRunner>();
        services.AddSingleton<IAttemptRunner>(provider => provider.GetRequiredService<AttemptRunner>());
        services.AddSingleton(provider =>
        {
            var node = provider.GetRequiredService<IOptions<NodeOptions>>().Value;
            return new ExecutionWorker(provider.GetRequiredService<NodeIdentity>().Id, node.Capacity, node.WorkerTimeout);
        });

        // Registered after the heartbeat, so stopped before it: the heartbeat goes on through the shutdown grace.
        services.AddHostedService<TaskDrain>();
        services.AddHostedService<WorkerDeregistration>();
        services.AddOptions<HostOptions>().Configure<IOptions<ExecutionOptions>>((host, execution) =>
            host.ShutdownTimeout = execution.Value.DeregistrationDelay + execution.Value.ShutdownGrace + execution.Value.TimeoutGrace + AttemptOutcomes.RetryBudget + TimeSpan.FromSeconds(5));
    }

    private static void AddGateway(IServiceCollection services, IConfiguration configuration, IHealthChecksBuilder healthChecks)
    {
        services.AddOptions<AuthOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(TaskRoutes.ClientPolicy, policy => policy
                .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireRole(nameof(KeyRole.Client), nameof(KeyRole.Admin)));

        // Hangfire's dashboard checks its forms' tokens once IAntiforgery is in the container.
        services.AddAntiforgery();
        AddLimits(services, configuration);

        services.AddSingleton<IForwarderHttpClientFactory, TrustingForwarderHttpClientFactory>();
        services.AddTaskRouting(healthChecks, HealthTags.Ready).AddTransforms(transforms => transforms.AddRequestTransform(context =>
        {
            // The worker scopes idempotency keys and owns tasks by client; the gateway, not the client, names it.
            // The client's key stays here: the worker trusts the cluster secret, and a key has no business on that hop.
            context.ProxyRequest.Headers.Remove(TaskRoutes.ClientIdHeader);
            context.ProxyRequest.Headers.TryAddWithoutValidation(TaskRoutes.ClientIdHeader, Caller.ClientId(context.HttpContext.User));
            context.ProxyRequest.Headers.Authorization = null;
            return ValueTask.CompletedTask;
        }));
        services.AddSingleton<ClusterViewBuilder>();
        services.AddSingleton<TaskCounts>();
        services.AddApiDocument();
        services.AddFailover();
        services.AddOptions<RetentionOptions>().Bind(configuration.GetSection(RetentionOptions.SectionName));
        services.AddOptions<FailoverOptions>()
            .Bind(configuration.GetSection(FailoverOptions.SectionName))
            .Configure<NodeIdentity, IOptions<NodeOptions>, IOptions<ExecutionOptions>>((failover, identity, node, execution) =>
            {
                failover.NodeId = identity.Id;
                failover.NodeUrl = identity.Url;
                failover.WorkerTimeout = node.Value.WorkerTimeout;
                failover.RetryBackoff = execution.Value.Backoff;
            });
        services.AddOptions<RoutingOptions>()
            .Bind(configuration.GetSection(RoutingOptions.SectionName))
            .Configure<IOptions<NodeOptions>>((routing, node) =>
            {
                routing.ClusterSecret = node.Value.ClusterSecret;
                routing.WorkerTimeout = node.Value.WorkerTimeout;
            });
    }

    /// <summary>Per-client rate limits on everything a client key reaches (task API and the submit route), and request timeouts.</summary>
    private static void AddLimits(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LimitsOptions>().Bind(configuration.GetSection(LimitsOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        var limits = configuration.GetSection(LimitsOptions.SectionName).Get<LimitsOptions>() ?? new LimitsOptions();
        services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var client = Caller.ClientId(context.User);
                return !limits.RateLimitEnabled || client.Length == 0
                    ? RateLimitPartition.GetNoLimiter("")
                    : RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = limits.Burst,
                        TokensPerPeriod = limits.PermitsPerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
            });
            limiter.OnRejected = (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                return new ValueTask(Problems.RateLimited(retryAfter).ExecuteAsync(context.HttpContext));
            };
        });
        services.AddRequestTimeouts(timeouts => timeouts.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = limits.RequestTimeout,
            WriteTimeoutResponse = context => Problems.RequestTimedOut().ExecuteAsync(context),
        });
    }

    /// <summary>Health probes and scrapes run several times a second on every node; traced, they would drown the tasks.</summary>
    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);

    private static bool IsProbe(string path) => IsProbe(new PathString(path));
}
