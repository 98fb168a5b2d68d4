using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;
using TaskServer.Host.Api;

namespace TaskServer.Host.ApiDescription;

/// <summary>What the description says about problem answers: which types each status carries, and the headers that come with them.</summary>
internal static class ProblemResponses
{
    public const string ContentType = "application/problem+json";

    /// <summary>
    /// Names the problem types in each error response's description and adds <c>Retry-After</c> (429, 503)
    /// and <c>X-TaskServer-Primary</c> (a backup's 503). The responses themselves must exist already.
    /// </summary>
    public static void Describe(OpenApiOperation operation, IEnumerable<ProblemType> problems)
    {
        foreach (var byStatus in problems.Distinct().GroupBy(p => p.Status))
        {
            var key = byStatus.Key.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses?.GetValueOrDefault(key) is not OpenApiResponse response)
            {
                throw new InvalidOperationException($"'{operation.OperationId}' documents problem types for {key} without a {key} response.");
            }

            response.Description = $"{ReasonPhrases.GetReasonPhrase(byStatus.Key)}. Problem type: {string.Join(" or ", byStatus.Select(p => p.Urn))}.";
            if (byStatus.Key is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
            {
                AddHeader(response, "Retry-After", "Seconds to wait before retrying.", JsonSchemaType.Integer);
            }

            if (byStatus.Contains(ProblemType.NotPrimary))
            {
                AddHeader(response, NodeComposition.PrimaryHeader, "On not-primary: the URL of the primary gateway, when this backup knows it. Send the request there.", JsonSchemaType.String);
            }
        }
    }

    /// <summary>A problem+json response, for operations the framework does not describe.</summary>
    public static OpenApiResponse Create(IOpenApiSchema problemDetails) => new()
    {
        Content = new Dictionary<string, OpenApiMediaType> { [ContentType] = new() { Schema = problemDetails } },
    };

    private static void AddHeader(OpenApiResponse response, string name, string description, JsonSchemaType type)
    {
        response.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.OrdinalIgnoreCase);
        response.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = type } };
    }
}
