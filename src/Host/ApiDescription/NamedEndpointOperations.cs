using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace TaskServer.Host.ApiDescription;

/// <summary>
/// Endpoints that ApiExplorer passes over because they are plain request delegates, not route handlers
/// (<c>MapHealthChecks</c>), described from the same metadata a route handler would carry: name, summary,
/// description, tags and produced responses. Only named endpoints that the document lacks are described; one without
/// <c>HttpMethodMetadata</c> answers any method and is described as GET, the method its clients use.
/// </summary>
internal sealed class NamedEndpointOperations(EndpointDataSource endpoints) : IOpenApiDocumentTransformer
{
    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Paths ??= [];
        var described = document.Paths.Values
            .SelectMany(path => path.Operations?.Values.Select(operation => operation.OperationId) ?? [])
            .ToHashSet(StringComparer.Ordinal);
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
        {
            var metadata = endpoint.Metadata;
            if (metadata.GetMetadata<IEndpointNameMetadata>() is not { } name
                || described.Contains(name.EndpointName)
                || metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is { ExcludeFromDescription: true })
            {
                continue;
            }

            var pathKey = "/" + endpoint.RoutePattern.RawText?.TrimStart('/');
            if (!document.Paths.TryGetValue(pathKey, out var existing) || existing is not OpenApiPathItem path)
            {
                path = new OpenApiPathItem();
                document.Paths[pathKey] = path;
            }

            foreach (var method in metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [HttpMethods.Get])
            {
                var httpMethod = HttpMethod.Parse(method);
                if (path.Operations?.ContainsKey(httpMethod) == true)
                {
                    continue;
                }

                path.AddOperation(httpMethod, await DescribeAsync(name.EndpointName, metadata, document, context, cancellationToken));
            }
        }
    }

    private static async Task<OpenApiOperation> DescribeAsync(
        string name, EndpointMetadataCollection metadata, OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var operation = new OpenApiOperation
        {
            OperationId = name,
            Summary = metadata.GetMetadata<IEndpointSummaryMetadata>()?.Summary,
            Description = metadata.GetMetadata<IEndpointDescriptionMetadata>()?.Description,
            Tags = metadata.GetOrderedMetadata<ITagsMetadata>().SelectMany(t => t.Tags).Distinct(StringComparer.Ordinal)
                .Select(tag => new OpenApiTagReference(tag, document)).ToHashSet(),
            Responses = [],
        };
        foreach (var produced in metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>())
        {
            var response = new OpenApiResponse { Description = produced.Description ?? ReasonPhrases.GetReasonPhrase(produced.StatusCode) };
            if (produced.Type is { } type)
            {
                var schema = await SchemaComponents.ReferenceAsync(document, context, type, cancellationToken);
                response.Content = produced.ContentTypes.ToDictionary(contentType => contentType, _ => new OpenApiMediaType { Schema = schema }, StringComparer.Ordinal);
            }

            operation.Responses[produced.StatusCode.ToString(CultureInfo.InvariantCulture)] = response;
        }

        return operation;
    }
}
