namespace TaskServer.Execution;

/// <summary>
/// A level that only rises: whoever has seen version N waits until something raises it past N. Unlike an event, a
/// raise that happens between looking and waiting is never lost.
/// </summary>
public sealed class WorkSignal
{
    private TaskCompletionSource next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long version;

    public long Version => Interlocked.Read(ref version);

    public void Raise()
    {
        Interlocked.Increment(ref version);
        Interlocked.Exchange(ref next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Completes once the version differs from <paramref name="seen"/>; at once if it already does.</summary>
    public Task WhenRaisedAfter(long seen)
    {
        // Read the waiter before the version: a raise in between completes the waiter read, or shows in the version.
        var waiter = Volatile.Read(ref next).Task;
        return Version != seen ? Task.CompletedTask : waiter;
    }
}
