using System.Collections.Concurrent;

namespace TaskServer.Host.Execution;

/// <summary>The attempts this process is running right now, so a re-delivered job can tell a lost run from a live one.</summary>
public sealed class LocalAttempts
{
    private readonly ConcurrentDictionary<Guid, Guid> running = new();

    public bool TryBegin(Guid taskId, Guid attemptToken) => running.TryAdd(taskId, attemptToken);

    public bool IsRunning(Guid taskId, Guid attemptToken) => running.TryGetValue(taskId, out var token) && token == attemptToken;

    public void End(Guid taskId) => running.TryRemove(taskId, out _);
}
