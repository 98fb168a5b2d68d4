namespace TaskServer.Execution;

/// <summary>
/// "This worker may have due tasks": raised when its intake commits a set, when a retry's backoff ends, and when its
/// heartbeat counts due tasks (work the primary requeued onto it). The drain claims only after a raise, so an idle
/// worker sends the database nothing.
/// </summary>
public sealed class TaskArrivals
{
    public WorkSignal Signal { get; } = new();

    public void Raise() => Signal.Raise();
}
