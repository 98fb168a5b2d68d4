using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.Host.ApiDescription;
using TaskServer.Testing;

namespace TaskServer.Host.Tests.ApiDescription;

/// <summary>
/// Every endpoint a standalone node maps, YARP's route included, is in its API description, or on the
/// short list below of what is not for API clients: an endpoint added without a description fails here.
/// The node is composed and started in-process, as Program does, on a throwaway database.
/// </summary>
public sealed class ApiDocumentCoverageTests
{
    /// <summary>Mapped but not described, each for its reason. <c>*</c>: the endpoint answers any method.</summary>
    private static readonly string[] NotForClients =
    [
        "POST /internal/tasks", // the worker's intake: gateways only, with the cluster secret
        "GET /openapi/{documentName}.json", // the description itself
        "* /metrics", // Prometheus' text format
    ];

    [Fact]
    public async Task Every_mapped_endpoint_is_described_or_deliberately_left_out()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var database = await PostgresDatabase.CreateAsync();
        await using var app = InProcessNode.Build(database, "Standalone", "described");
        await app.StartAsync(cancellationToken);
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>();
        await Eventually.HoldsAsync(
            () => Task.FromResult(Mapped(endpoints).Contains("POST /tasks")),
            TimeSpan.FromSeconds(30),
            "YARP's submit route (the gateway adds it once it has read the registry)");

        var document = await app.Services.GetRequiredKeyedService<IOpenApiDocumentProvider>(ApiDocument.Name).GetOpenApiDocumentAsync(cancellationToken);
        var described = document.Paths
            .SelectMany(path => path.Value.Operations?.Keys.SelectMany(method => new[] { $"{method} {path.Key}", $"* {path.Key}" }) ?? [])
            .ToHashSet(StringComparer.Ordinal);
        await app.StopAsync(cancellationToken);

        Assert.Empty(Mapped(endpoints).Except(described).Except(NotForClients));
        Assert.Contains("GET /health/ready", described);
        Assert.DoesNotContain(described, operation => operation.Contains("/internal/", StringComparison.Ordinal));
    }

    /// <summary>"METHOD /path" for every route endpoint, with route constraints dropped as the description drops them.</summary>
    private static HashSet<string> Mapped(EndpointDataSource endpoints) =>
        endpoints.Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(method => $"{method} {Path(endpoint.RoutePattern)}"))
            .ToHashSet(StringComparer.Ordinal);

    private static string Path(RoutePattern pattern) =>
        "/" + string.Join('/', pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => $"{{{parameter.Name}}}",
            _ => "",
        }))));
}
