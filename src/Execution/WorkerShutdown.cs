namespace TaskServer.Execution;

/// <summary>
/// Where a worker stands in its shutdown: <see cref="Draining"/> from the moment it is told to stop (it stops claiming
/// and says so in its heartbeat, so gateways stop routing to it and the primary hands its queued tasks on), then
/// <see cref="Left"/> once it has handed back what it could not finish and removed itself from the registry (its
/// heartbeat must not bring it back).
/// </summary>
public sealed class WorkerShutdown
{
    private int draining;
    private int left;

    public bool Draining => Volatile.Read(ref draining) == 1;

    public bool Left => Volatile.Read(ref left) == 1;

    /// <summary>Raised on each change, so the heartbeat can report it at once instead of at its next tick.</summary>
    public WorkSignal Changed { get; } = new();

    public void BeginDraining()
    {
        if (Interlocked.Exchange(ref draining, 1) == 0)
        {
            Changed.Raise();
        }
    }

    public void MarkLeft()
    {
        if (Interlocked.Exchange(ref left, 1) == 0)
        {
            Changed.Raise();
        }
    }
}
