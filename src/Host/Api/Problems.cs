using System.Globalization;

namespace TaskServer.Host.Api;

/// <summary>Every client-facing error, as RFC 7807 problem details with a stable <c>type</c>.</summary>
public static class Problems
{
    public const string TypePrefix = "urn:taskserver:problem:";

    public static IResult MalformedJson(string detail) => Problem(400, "malformed-json", "The request body is not valid JSON.", detail);

    public static IResult InvalidRequest(string detail) => Problem(400, "invalid-request", "The request is not valid.", detail);

    public static IResult UnknownTaskType(string type, IEnumerable<string> known) =>
        Problem(400, "unknown-task-type", "The task type is not known.", $"'{type}' is not a task type here. Known types: {string.Join(", ", known.Order(StringComparer.Ordinal))}.");

    public static IResult InvalidPayload(string type, string detail) => Problem(400, "invalid-payload", $"The payload does not suit task type '{type}'.", detail);

    public static IResult MissingApiKey() => Problem(401, "missing-api-key", "An API key is required.", "Send Authorization: Bearer <key>.");

    public static IResult InvalidApiKey() => Problem(403, "invalid-api-key", "The API key is not valid.", null);

    public static IResult AdminRequired() => Problem(401, "admin-required", "Operator credentials are required.", "Send an admin key (HTTP Basic password or Bearer).");

    public static IResult InvalidClusterSecret() => Problem(403, "invalid-cluster-secret", "Internal endpoints need the cluster secret.", null);

    public static IResult TaskNotFound(Guid id) => Problem(404, "task-not-found", "No such task.", $"There is no task {id}.");

    public static IResult IdempotencyConflict(Guid existing) =>
        Problem(409, "idempotency-key-reused", "The Idempotency-Key was used with a different request.", $"The key belongs to task {existing}; send a new key for a new task.");

    public static IResult TaskAlreadyFinal(Guid id, string status) =>
        Problem(409, "task-already-final", "The task has already finished.", $"Task {id} is {status}; it cannot be cancelled.");

    public static IResult PayloadTooLarge(long limit) =>
        Problem(413, "payload-too-large", "The request body is too large.", string.Create(CultureInfo.InvariantCulture, $"The limit is {limit} bytes."));

    public static IResult Overloaded(TimeSpan retryAfter) =>
        new RetryAfterResult(Problem(429, "overloaded", "Every worker is at capacity.", "Retry later."), retryAfter);

    public static IResult NotPrimary(string? primaryUrl, TimeSpan retryAfter) =>
        new RetryAfterResult(
            Problem(503, "not-primary", "This gateway is a backup.", primaryUrl is null ? "No primary is known yet; retry shortly." : $"Send requests to the primary at {primaryUrl}."),
            retryAfter);

    public static IResult NoHealthyWorker(TimeSpan retryAfter) =>
        new RetryAfterResult(Problem(503, "no-healthy-worker", "No healthy worker can take the task.", "Retry later."), retryAfter);

    private static IResult Problem(int status, string slug, string title, string? detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title, type: TypePrefix + slug);

    private sealed class RetryAfterResult(IResult inner, TimeSpan retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
