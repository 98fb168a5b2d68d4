using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using TaskServer.Host.Api;

namespace TaskServer.Host.ApiDescription;

/// <summary>
/// <c>POST /tasks</c>. A gateway serves it through YARP (the route <c>submit-task</c>, forwarded to a worker's
/// <c>/internal/tasks</c>), and a YARP route is not an ApiExplorer endpoint, so the framework never sees it:
/// this transformer adds the operation, built from the same types the intake reads and writes.
/// Its answers come from five places: authentication (401/403), the backup gate (503 not-primary), the rate limiter
/// (429), the gateway's size check and admission (413, 429/503), YARP when the worker fails (502, 504; whether the task
/// was stored is then unknown: retry with the same Idempotency-Key) and the worker's intake (400, 409, 413, 503, 202).
/// </summary>
internal sealed class SubmitTaskOperation(IOptions<ExecutionOptions> execution) : IOpenApiDocumentTransformer
{
    private static readonly ProblemType[] Problems =
    [
        ProblemType.MalformedJson, ProblemType.InvalidRequest, ProblemType.UnknownTaskType, ProblemType.InvalidPayload,
        ProblemType.MissingApiKey, ProblemType.InvalidApiKey, ProblemType.Forbidden, ProblemType.IdempotencyKeyReused, ProblemType.PayloadTooLarge,
        ProblemType.Overloaded, ProblemType.RateLimited, ProblemType.NotPrimary, ProblemType.NoHealthyWorker, ProblemType.StorageUnavailable,
        ProblemType.WorkerUnreachable, ProblemType.RequestTimeout,
    ];

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var options = execution.Value;
        var body = await SchemaComponents.ReferenceAsync(document, context, typeof(SubmitTaskBody), cancellationToken);
        var task = await SchemaComponents.ReferenceAsync(document, context, typeof(TaskView), cancellationToken);
        var problem = await SchemaComponents.ReferenceAsync(document, context, typeof(ProblemDetails), cancellationToken);
        DescribeBody(document, options);

        var operation = new OpenApiOperation
        {
            OperationId = "SubmitTask",
            Summary = "Submit a task",
            Description = "Stores the task (Queued) on a worker chosen by the gateway's balancing policy and enqueues its first attempt, "
                + "then answers 202 with the task and its Location. With an Idempotency-Key, a repeated request returns the task "
                + "already stored (Idempotent-Replayed: true), never a second task; the same key with another request is 409. "
                + "A rejected request stores nothing.",
            Tags = new HashSet<OpenApiTagReference> { new(ApiDocument.TasksTag, document) },
            Security = ApiDocument.Requirements([ApiDocument.BearerScheme], document),
            Parameters =
            [
                new OpenApiParameter
                {
                    Name = TaskEndpoints.IdempotencyKeyHeader,
                    In = ParameterLocation.Header,
                    Required = false,
                    Description = $"Makes retries safe: 1-{SubmitRequest.MaxIdempotencyKeyLength} printable ASCII characters without spaces, scoped to the client's API key.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = SubmitRequest.MaxIdempotencyKeyLength, Pattern = "^[!-~]+$" },
                },
            ],
            RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = string.Create(CultureInfo.InvariantCulture, $"At most {options.MaxPayloadBytes} bytes (413 payload-too-large above)."),
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = body } },
            },
            Responses = new OpenApiResponses
            {
                ["202"] = new OpenApiResponse
                {
                    Description = "Accepted: the task as stored.",
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = task } },
                    Headers = new Dictionary<string, IOpenApiHeader>(StringComparer.OrdinalIgnoreCase)
                    {
                        ["Location"] = new OpenApiHeader { Description = "/tasks/{id} of the task.", Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                        [TaskEndpoints.ReplayedHeader] = new OpenApiHeader { Description = "`true` when the Idempotency-Key had already stored this task.", Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                    },
                },
            },
        };
        foreach (var status in Problems.Select(p => p.Status).Distinct())
        {
            operation.Responses[status.ToString(CultureInfo.InvariantCulture)] = ProblemResponses.Create(problem);
        }

        ProblemResponses.Describe(operation, Problems);

        document.Paths ??= [];
        if (!document.Paths.TryGetValue("/tasks", out var existing) || existing is not OpenApiPathItem path)
        {
            path = new OpenApiPathItem();
            document.Paths["/tasks"] = path;
        }

        path.AddOperation(HttpMethod.Post, operation);
    }

    /// <summary>What the schema generated from <see cref="SubmitTaskBody"/> cannot say: which member is required, and this node's limits.</summary>
    private static void DescribeBody(OpenApiDocument document, ExecutionOptions options)
    {
        if (document.Components?.Schemas?.TryGetValue(nameof(SubmitTaskBody), out var component) != true || component is not OpenApiSchema schema)
        {
            return;
        }

        schema.Required = new HashSet<string>(StringComparer.Ordinal) { "type" };
        if (schema.Properties?.TryGetValue("payload", out var payloadProperty) == true && payloadProperty is OpenApiSchema payload)
        {
            // The framework gives JsonElement an empty schema (any JSON) and drops the comment with it.
            payload.Description = "The task's input, any JSON; what it must hold depends on the type (400 invalid-payload otherwise).";
        }

        if (schema.Properties?.TryGetValue("maxAttempts", out var property) == true && property is OpenApiSchema maxAttempts)
        {
            maxAttempts.Minimum = "1";
            maxAttempts.Maximum = options.MaxAttemptsLimit.ToString(CultureInfo.InvariantCulture);
            maxAttempts.Default = options.DefaultMaxAttempts;
        }

        if (schema.Properties?.TryGetValue("timeout", out var timeoutProperty) == true && timeoutProperty is OpenApiSchema timeout)
        {
            timeout.Default = DurationText.Format(options.DefaultTimeout);
        }
    }
}

// The wire shape, for the description only: the intake reads the body with JsonDocument so that each
// mistake gets its own problem type, and validates it into a SubmitRequest.

/// <summary>The body of <c>POST /tasks</c>.</summary>
/// <param name="Type">The task type: a handler registered on the workers (built in: echo, sleep, hash, fail, callback). Unknown: 400 unknown-task-type.</param>
/// <param name="MaxAttempts">Attempts before the task fails.</param>
/// <param name="Timeout">How long one attempt may run, as ISO 8601 (PT30S) or a number with ms, s, m or h (30s); at it the handler is cancelled and the attempt fails as timed out.</param>
internal sealed record SubmitTaskBody(string Type, JsonElement? Payload, int? MaxAttempts, string? Timeout);
