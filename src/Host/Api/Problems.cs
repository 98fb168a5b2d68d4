using System.Globalization;

namespace TaskServer.Host.Api;

/// <summary>Every client-facing error, as RFC 7807 problem details with a stable <c>type</c>.</summary>
public static class Problems
{
    public const string TypePrefix = ProblemType.Prefix;

    public static IResult MalformedJson(string detail) => Problem(ProblemType.MalformedJson, "The request body is not valid JSON.", detail);

    public static IResult InvalidRequest(string detail) => Problem(ProblemType.InvalidRequest, "The request is not valid.", detail);

    public static IResult UnknownTaskType(string type, IEnumerable<string> known) =>
        Problem(ProblemType.UnknownTaskType, "The task type is not known.", $"'{type}' is not a task type here. Known types: {string.Join(", ", known.Order(StringComparer.Ordinal))}.");

    public static IResult InvalidPayload(string type, string detail) => Problem(ProblemType.InvalidPayload, $"The payload does not suit task type '{type}'.", detail);

    public static IResult MissingApiKey() => Problem(ProblemType.MissingApiKey, "An API key is required.", "Send Authorization: Bearer <key>.");

    public static IResult InvalidApiKey() => Problem(ProblemType.InvalidApiKey, "The API key is not valid.", null);

    public static IResult Forbidden(string detail) => Problem(ProblemType.Forbidden, "The key does not allow this.", detail);

    public static IResult AdminRequired() => Problem(ProblemType.AdminRequired, "Operator credentials are required.", "Send an admin key (HTTP Basic password or Bearer).");

    public static IResult InvalidClusterSecret() => Problem(ProblemType.InvalidClusterSecret, "Internal endpoints need the cluster secret.", null);

    public static IResult TaskNotFound(Guid id) => Problem(ProblemType.TaskNotFound, "No such task.", $"There is no task {id}.");

    public static IResult IdempotencyConflict(Guid existing) =>
        Problem(ProblemType.IdempotencyKeyReused, "The Idempotency-Key was used with a different request.", $"The key belongs to task {existing}; send a new key for a new task.");

    public static IResult TaskAlreadyFinal(Guid id, string status) =>
        Problem(ProblemType.TaskAlreadyFinal, "The task has already finished.", $"Task {id} is {status}; it cannot be cancelled.");

    public static IResult PayloadTooLarge(long limit) =>
        Problem(ProblemType.PayloadTooLarge, "The request body is too large.", string.Create(CultureInfo.InvariantCulture, $"The limit is {limit} bytes."));

    public static IResult Overloaded(TimeSpan retryAfter) =>
        new RetryAfterResult(Problem(ProblemType.Overloaded, "Every worker is at capacity.", "Retry later."), retryAfter);

    public static IResult NotPrimary(string? primaryUrl, TimeSpan retryAfter) =>
        new RetryAfterResult(
            Problem(ProblemType.NotPrimary, "This gateway is a backup.", primaryUrl is null ? "No primary is known yet; retry shortly." : $"Send requests to the primary at {primaryUrl}."),
            retryAfter);

    public static IResult IntakeFull(TimeSpan retryAfter) =>
        new RetryAfterResult(Problem(ProblemType.IntakeFull, "This worker has too many submissions waiting to be stored.", "Retry; the gateway sends it to another worker."), retryAfter);

    public static IResult NoHealthyWorker(TimeSpan retryAfter) =>
        new RetryAfterResult(Problem(ProblemType.NoHealthyWorker, "No healthy worker can take the task.", "Retry later."), retryAfter);

    public static IResult RateLimited(TimeSpan retryAfter) =>
        new RetryAfterResult(Problem(ProblemType.RateLimited, "Too many requests from this client.", "Slow down; retry after the Retry-After seconds."), retryAfter);

    public static IResult RequestTimedOut() => Problem(ProblemType.RequestTimeout, "The request took too long.", "The server gave up on it; retry, perhaps later.");

    /// <summary>An error status that reached the client without a body (see <see cref="ProblemType.ForStatus"/>).</summary>
    public static IResult ForStatus(int status) =>
        Problem(ProblemType.ForStatus(status), Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status), null);

    private static IResult Problem(ProblemType problem, string title, string? detail) =>
        Results.Problem(detail: detail, statusCode: problem.Status, title: title, type: problem.Urn);

    private sealed class RetryAfterResult(IResult inner, TimeSpan retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
