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
    public static readonly ProblemType InvalidApiKey = new(403, "invalid-api-key");
    public static readonly ProblemType InvalidClusterSecret = new(403, "invalid-cluster-secret");
    public static readonly ProblemType TaskNotFound = new(404, "task-not-found");
    public static readonly ProblemType IdempotencyKeyReused = new(409, "idempotency-key-reused");
    public static readonly ProblemType TaskAlreadyFinal = new(409, "task-already-final");
    public static readonly ProblemType PayloadTooLarge = new(413, "payload-too-large");
    public static readonly ProblemType Overloaded = new(429, "overloaded");
    public static readonly ProblemType FaultInjected = new(500, "fault-injected");
    public static readonly ProblemType NoHealthyWorker = new(503, "no-healthy-worker");
    public static readonly ProblemType NotPrimary = new(503, "not-primary");
    public static readonly ProblemType StorageUnavailable = new(503, "storage-unavailable");

    /// <summary>The problem's <c>type</c> member.</summary>
    public string Urn => Prefix + Slug;
}
