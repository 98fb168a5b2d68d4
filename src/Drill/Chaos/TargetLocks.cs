namespace TaskServer.Drill.Chaos;

/// <summary>
/// One holder at a time per target (a node by name, or the database): a fault that strikes it, or the keeper starting
/// it again. The schedule keeps planned faults apart; these keep the run apart when a restart takes longer than planned.
/// </summary>
internal sealed class TargetLocks(IEnumerable<string> targets) : IDisposable
{
    private readonly Dictionary<string, SemaphoreSlim> locks = targets.Distinct().ToDictionary(t => t, _ => new SemaphoreSlim(1, 1), StringComparer.Ordinal);

    /// <summary>The target's lock, waiting at most <paramref name="wait"/>; null when someone else still holds it.</summary>
    public async Task<IDisposable?> AcquireAsync(string target, TimeSpan wait, CancellationToken cancellationToken) =>
        await locks[target].WaitAsync(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, cancellationToken) ? new Held(locks[target]) : null;

    /// <summary>The target's lock if nobody holds it now.</summary>
    public IDisposable? TryAcquire(string target) => locks[target].Wait(0) ? new Held(locks[target]) : null;

    public void Dispose()
    {
        foreach (var semaphore in locks.Values)
        {
            semaphore.Dispose();
        }
    }

    private sealed class Held(SemaphoreSlim semaphore) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                semaphore.Release();
            }
        }
    }
}
