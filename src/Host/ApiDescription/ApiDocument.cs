using System.Text.Json.Serialization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using TaskServer.Health;

namespace TaskServer.Host.ApiDescription;

/// <summary>
/// The client API's OpenAPI description, served by gateways at <c>/openapi/v1.json</c>: the task API,
/// <c>/cluster</c> and the health endpoints, from the endpoints' own metadata; <see cref="SubmitTaskOperation"/> adds
/// the one operation YARP serves and <see cref="NamedEndpointOperations"/> the health checks ApiExplorer passes over.
/// </summary>
internal static class ApiDocument
{
    public const string Name = "v1";
    public const string Path = "/openapi/{documentName}.json";

    public const string BearerScheme = "bearer";
    public const string BasicScheme = "basic";

    public const string TasksTag = "Tasks";
    public const string ClusterTag = "Cluster";

    public static IServiceCollection AddApiDocument(this IServiceCollection services)
    {
        // No endpoint binds a JSON body (the intake parses its own, to name each mistake), so accepting numbers
        // written as strings buys nothing; left on, the description would say every number may be a string.
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict);
        return services.AddOpenApi(Name, options =>
        {
            options.AddOperationTransformer<EndpointMetadataTransformer>();
            options.AddDocumentTransformer(DescribeDocumentAsync);
            options.AddDocumentTransformer<SubmitTaskOperation>();
            options.AddDocumentTransformer<NamedEndpointOperations>();
        });
    }

    public static void MapApiDocument(this IEndpointRouteBuilder endpoints) => endpoints.MapOpenApi(Path);

    /// <summary>One requirement per scheme: any one of them is enough.</summary>
    public static List<OpenApiSecurityRequirement> Requirements(IEnumerable<string> schemes, OpenApiDocument? document) =>
        [.. schemes.Select(scheme => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, document)] = [] })];

    private static Task DescribeDocumentAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "TaskServer",
            Version = Name,
            Description = "Submit tasks, follow them and cancel them. Errors are RFC 7807 problem details (application/problem+json) "
                + "whose `type` is a stable URN (urn:taskserver:problem:...). Only the primary gateway serves the task API; "
                + "a backup answers 503 not-primary and names the primary in X-TaskServer-Primary.",
        };
        document.Tags = new HashSet<OpenApiTag>
        {
            new() { Name = TasksTag, Description = "The task API: clients with an API key, on the primary gateway." },
            new() { Name = ClusterTag, Description = "For operators: the cluster as a gateway sees it." },
            new() { Name = HealthServiceCollectionExtensions.HealthTag, Description = "For probes and load balancers; no credentials." },
        };

        // Every gateway serves the document, a backup too: paths are relative to wherever it was read, not to this node.
        document.Servers = [];
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key as `Authorization: Bearer <key>`: a client key (Auth:ApiKeys) for the task API, an admin key (Auth:AdminKeys) for /cluster. "
                + "The task API answers 401 missing-api-key without a key and 403 invalid-api-key for a key it does not know; /cluster answers 401 admin-required either way.",
        };
        document.Components.SecuritySchemes[BasicScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "basic",
            Description = "Operators: any user name, an admin key (Auth:AdminKeys) as the password.",
        };
        return Task.CompletedTask;
    }
}
