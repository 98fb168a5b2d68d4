using System.Collections.Concurrent;

namespace TaskServer.Execution;

/// <summary>
/// The attempts this process runs now, each with the token source that stops its handler. Keyed by attempt, not by
/// task: a task's next attempt may be claimed here while its previous one is still winding down.
/// </summary>
public sealed class RunningAttempts
{
    private readonly ConcurrentDictionary<(Guid TaskId, Guid AttemptToken), RunningAttempt> running = new();

    public int Count => running.Count;

    public bool TryBegin(RunningAttempt attempt) => running.TryAdd((attempt.TaskId, attempt.AttemptToken), attempt);

    public void End(RunningAttempt attempt) => running.TryRemove((attempt.TaskId, attempt.AttemptToken), out _);

    public bool Contains(Guid taskId, Guid attemptToken) => running.ContainsKey((taskId, attemptToken));

    public RunningAttempt? Find(Guid taskId, Guid attemptToken) => running.GetValueOrDefault((taskId, attemptToken));

    public IReadOnlyList<RunningAttempt> Snapshot() => [.. running.Values];
}

/// <param name="StartedAt">When the handler started, as a <see cref="TimeProvider"/> timestamp.</param>
/// <param name="Stop">Cancelled when the attempt must stop: superseded, timed out, or the worker is shutting down.</param>
public sealed record RunningAttempt(Guid TaskId, Guid AttemptToken, long StartedAt, CancellationTokenSource Stop)
{
    private int superseded;

    /// <summary>The store says this attempt is over (cancelled, or rescued elsewhere): its outcome must not be written.</summary>
    public bool Superseded => Volatile.Read(ref superseded) == 1;

    public void Supersede()
    {
        Interlocked.Exchange(ref superseded, 1);
        try
        {
            Stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended between the check that found it superseded and this cancel: nothing left to stop.
        }
    }
}
