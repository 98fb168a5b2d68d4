using TaskServer.StorageManager.Nodes;

namespace TaskServer.Failover.Sweeping;

/// <summary>
/// When more than half of the workers look silent at once, the likelier cause is the observer's side (the database was
/// stalled or restarting, so nobody's heartbeat could land) than that most machines died together. Rescuing then would
/// fail every running last attempt of workers that are in fact alive and re-run the rest, which adds load just when
/// the database is recovering. So the sweeper holds off for <see cref="FailoverOptions.MassSilenceHoldOff"/> from the
/// first sweep that saw it, and rescues only if the silence outlasts that (Kubernetes' node controller stops evicting
/// when a whole zone looks down, for the same reason). With one worker there is nothing to compare: no hold-off.
/// Only workers heard from within the worker timeout plus the hold-off take part: one silent for longer is dead by
/// any reading, and counting it made every restarted node's old identity (each start is a new one, kept in the
/// registry while it owns tasks) a vote for "most workers silent", so that after enough restarts every new primary
/// held its rescue back (a 30-minute chaos run ended with 78 of 82 identities silent, and their tasks waiting).
/// </summary>
internal sealed class MassSilenceGuard(TimeProvider timeProvider)
{
    private DateTimeOffset? silentSince;

    public SilenceVerdict Judge(IReadOnlyList<NodeRecord> nodes, TimeSpan workerTimeout, TimeSpan holdOff)
    {
        var heardOfLately = nodes.Where(n => n.Role is NodeRole.Worker or NodeRole.Standalone && n.Age <= workerTimeout + holdOff).ToList();
        var workers = heardOfLately.Count;
        var silent = heardOfLately.Count(n => n.Age > workerTimeout);
        var verdict = new SilenceVerdict(workers, silent, TimeSpan.Zero);
        if (!verdict.MostSilent || holdOff <= TimeSpan.Zero)
        {
            silentSince = null;
            return verdict;
        }

        var now = timeProvider.GetUtcNow();
        silentSince ??= now;
        var remaining = silentSince.Value + holdOff - now;
        return remaining > TimeSpan.Zero ? verdict with { HoldOff = remaining } : verdict;
    }
}

/// <param name="HoldOff">How long the rescue should still wait; zero to go ahead.</param>
internal readonly record struct SilenceVerdict(int Workers, int Silent, TimeSpan HoldOff)
{
    public bool MostSilent => Workers >= 2 && Silent * 2 > Workers;
}
