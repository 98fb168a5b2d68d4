using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TaskServer.Host.ApiDescription;

/// <summary>
/// Schemas for operations that document transformers add, shared as components like the framework's own.
/// <c>GetOrCreateSchemaAsync</c> returns nested types inline, with the null of a nullable member already
/// moved to where the framework would put its reference; left inline, <c>LastFailure?</c> would read as
/// never null. The schema's own marks (<c>x-schema-id</c>, <c>x-is-nullable-property</c>,
/// <c>x-ref-description</c>) say what the framework would have done, so the same is done here.
/// </summary>
internal static class SchemaComponents
{
    private const string SchemaId = "x-schema-id";
    private const string Nullable = "x-is-nullable-property";
    private const string ReferenceDescription = "x-ref-description";

    /// <summary>A reference to the component of <paramref name="type"/>, added (with its nested types) when no endpoint has added it yet.</summary>
    public static async Task<IOpenApiSchema> ReferenceAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, Type type, CancellationToken cancellationToken)
    {
        var id = type.Name;
        if (document.Components?.Schemas?.ContainsKey(id) != true)
        {
            var schema = await context.GetOrCreateSchemaAsync(type, null, cancellationToken);
            HoistMembers(document, schema);
            document.AddComponent(id, schema);
        }

        return new OpenApiSchemaReference(id, document);
    }

    private static void HoistMembers(OpenApiDocument document, OpenApiSchema schema)
    {
        if (schema.Properties is { } properties)
        {
            foreach (var name in properties.Keys.ToList())
            {
                properties[name] = Hoist(document, properties[name]);
            }
        }

        if (schema.Items is { } items)
        {
            schema.Items = Hoist(document, items);
        }

        if (schema.AdditionalProperties is { } additional)
        {
            schema.AdditionalProperties = Hoist(document, additional);
        }
    }

    private static IOpenApiSchema Hoist(OpenApiDocument document, IOpenApiSchema member)
    {
        if (member is not OpenApiSchema schema)
        {
            return member;
        }

        HoistMembers(document, schema);
        if (Mark(schema, SchemaId) is not string { Length: > 0 } id)
        {
            return schema;
        }

        if (document.Components?.Schemas?.ContainsKey(id) != true)
        {
            document.AddComponent(id, schema);
        }

        var reference = new OpenApiSchemaReference(id, document) { Description = Mark(schema, ReferenceDescription) as string };
        return Mark(schema, Nullable) is true
            ? new OpenApiSchema { OneOf = [new OpenApiSchema { Type = JsonSchemaType.Null }, reference] }
            : reference;
    }

    private static object? Mark(OpenApiSchema schema, string key) =>
        schema.Metadata is { } metadata && metadata.TryGetValue(key, out var value) ? value : null;
}
