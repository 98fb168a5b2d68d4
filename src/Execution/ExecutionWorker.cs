namespace TaskServer.Execution;

/// <summary>
/// The worker a drain claims for: its registry id, how many attempts it runs at once, and how long a heartbeat keeps
/// it live (<c>Node:WorkerTimeout</c>): past that its claims take nothing, since the primary may be rescuing its tasks.
/// </summary>
public sealed record ExecutionWorker(string Id, int Capacity, TimeSpan WorkerTimeout);
