namespace TaskServer.Host.Api;

/// <summary>
/// One kind of client-facing error: its HTTP status and its stable <c>type</c> URN. The answers
/// (<see cref="Problems"/>) and the API description name the same instances, so they cannot drift apart.
/// </summary>
public sealed record ProblemType(int Status, string Slug)
{
    public const string Prefix = "urn:taskserver:problem:";

    public static readonly ProblemType MalformedJson = new(400, "malformed-json");
    public static readonly ProblemType InvalidRequest = new(400, "invalid-request");
    public static readonly ProblemType UnknownTaskType = new(400, "unknown-task-type");
    public static readonly ProblemType InvalidPayload = new(400, "invalid-payload");
    public static readonly ProblemType MissingApiKey = new(401, "missing-api-key");
    public static readonly ProblemType AdminRequired = new(401, "admin-required");
    public static readonly ProblemType InvalidApiKey = new(401, "invalid-api-key");
    public static readonly ProblemType InvalidClusterSecret = new(401, "invalid-cluster-secret");
    public static readonly ProblemType Forbidden = new(403, "forbidden");
    public static readonly ProblemType TaskNotFound = new(404, "task-not-found");
    public static readonly ProblemType NotFound = new(404, "not-found");
    public static readonly ProblemType MethodNotAllowed = new(405, "method-not-allowed");
    public static readonly ProblemType UnsupportedMediaType = new(415, "unsupported-media-type");
    public static readonly ProblemType IdempotencyKeyReused = new(409, "idempotency-key-reused");
    public static readonly ProblemType TaskAlreadyFinal = new(409, "task-already-final");
    public static readonly ProblemType PayloadTooLarge = new(413, "payload-too-large");
    public static readonly ProblemType Overloaded = new(429, "overloaded");
    public static readonly ProblemType RateLimited = new(429, "rate-limited");
    public static readonly ProblemType FaultInjected = new(500, "fault-injected");
    public static readonly ProblemType NoHealthyWorker = new(503, "no-healthy-worker");
    public static readonly ProblemType NotPrimary = new(503, "not-primary");
    public static readonly ProblemType StorageUnavailable = new(503, "storage-unavailable");
    public static readonly ProblemType IntakeFull = new(503, "intake-full");
    public static readonly ProblemType WorkerUnreachable = new(502, "worker-unreachable");
    public static readonly ProblemType RequestTimeout = new(504, "request-timeout");

    /// <summary>
    /// The problem for an error status answered without a body (routing, binding, Kestrel, YARP): status code
    /// pages write it, so that every error a client sees is problem+json with a stable type.
    /// </summary>
    public static ProblemType ForStatus(int status) => status switch
    {
        400 => InvalidRequest,
        401 => MissingApiKey,
        403 => Forbidden,
        404 => NotFound,
        405 => MethodNotAllowed,
        413 => PayloadTooLarge,
        415 => UnsupportedMediaType,
        429 => Overloaded,
        502 => WorkerUnreachable,
        504 => RequestTimeout,
        _ => new ProblemType(status, status < 500 ? "client-error" : "server-error"),
    };

    /// <summary>The problem's <c>type</c> member.</summary>
    public string Urn => Prefix + Slug;
}
