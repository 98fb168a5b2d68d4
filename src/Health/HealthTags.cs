namespace TaskServer.Health;

/// <summary>Which endpoint runs a check: <c>/health/ready</c> runs the "ready" ones, <c>/health/primary</c> the "primary" ones.</summary>
public static class HealthTags
{
    public const string Ready = "ready";

    /// <summary>
    /// The subset of readiness that says a worker can take a task (its own database and Hangfire server),
    /// served at <c>/health/worker</c> for gateways' probes. A standalone node's full readiness also asks
    /// "is some worker healthy?", which would make its probe of itself depend on itself and never recover.
    /// </summary>
    public const string Worker = "worker";
    public const string Primary = "primary";
}
