using TaskServer.Host.Api;

namespace TaskServer.Host.ApiDescription;

/// <summary>Endpoint metadata: the problem types an endpoint can answer with, read by <see cref="EndpointMetadataTransformer"/>.</summary>
internal sealed record DocumentedProblems(IReadOnlyList<ProblemType> Problems);

internal static class DocumentedProblemsExtensions
{
    /// <summary>
    /// Declares problem+json answers of these types: one <c>ProducesProblem</c> per status (the framework's
    /// response and schema), and the types themselves so the description can name them.
    /// </summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params ProblemType[] problems)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in problems.Select(p => p.Status).Distinct())
        {
            builder.ProducesProblem(status);
        }

        return builder.WithMetadata(new DocumentedProblems(problems));
    }
}
