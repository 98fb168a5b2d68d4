using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TaskServer.Host.ApiDescription;

/// <summary>Turns the endpoint metadata of this folder (<see cref="DocumentedProblems"/>, <see cref="AcceptedCredentials"/>) into the operation's description.</summary>
internal sealed class EndpointMetadataTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        ProblemResponses.Describe(operation, metadata.OfType<DocumentedProblems>().SelectMany(d => d.Problems));
        var schemes = metadata.OfType<AcceptedCredentials>().LastOrDefault()?.Schemes;
        if (schemes is not null)
        {
            operation.Security = ApiDocument.Requirements(schemes, context.Document);
        }

        return Task.CompletedTask;
    }
}
