namespace TaskServer.Execution;

/// <summary>The worker a drain claims for: its registry id, and how many attempts it runs at once.</summary>
public sealed record ExecutionWorker(string Id, int Capacity);
