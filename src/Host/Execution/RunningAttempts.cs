using System.Collections.Concurrent;

namespace TaskServer.Host.Execution;

/// <summary>The attempts this process runs now, each with the token source that stops its handler.</summary>
public sealed class RunningAttempts
{
    private readonly ConcurrentDictionary<Guid, RunningAttempt> running = new();

    public int Count => running.Count;

    public bool TryBegin(RunningAttempt attempt) => running.TryAdd(attempt.TaskId, attempt);

    public void End(Guid taskId) => running.TryRemove(taskId, out _);

    public IReadOnlyList<RunningAttempt> Snapshot() => [.. running.Values];
}

/// <param name="StartedAt">When the handler started, as a <see cref="TimeProvider"/> timestamp.</param>
public sealed record RunningAttempt(Guid TaskId, Guid AttemptToken, long StartedAt, CancellationTokenSource Stop)
{
    private int superseded;

    /// <summary>The store says this attempt is over (cancelled, or requeued elsewhere): its outcome must not be written.</summary>
    public bool Superseded => Volatile.Read(ref superseded) == 1;

    public void Supersede()
    {
        Interlocked.Exchange(ref superseded, 1);
        Stop.Cancel();
    }
}
