namespace TaskServer.Drill.Chaos;

/// <summary>The faults the chaos harness mixes.</summary>
internal enum FaultKind
{
    /// <summary>SIGKILL of a worker; started again after the fault's length.</summary>
    KillWorker,

    /// <summary>SIGSTOP of a worker, SIGCONT after the fault's length.</summary>
    PauseWorker,

    /// <summary>SIGKILL of whichever gateway is primary when it strikes; started again after the fault's length.</summary>
    KillPrimary,

    /// <summary>SIGSTOP of the primary gateway, SIGCONT after the fault's length.</summary>
    PausePrimary,

    /// <summary>The database stopped (cluster.sh db stop), started again after the fault's length.</summary>
    DatabaseRestart,

    /// <summary>pg_terminate_backend of <see cref="PlannedFault.Value"/> random sessions of the nodes (of the primary only, when targeted).</summary>
    TerminateSessions,

    /// <summary>The primary's database role refused logins and its sessions ended; logins allowed again after the fault's length.</summary>
    PrimaryLoginRefused,

    /// <summary><see cref="PlannedFault.Value"/> ms added to every request of a worker (POST /admin/faults), cleared after the fault's length.</summary>
    WorkerLatency,

    /// <summary>A <c>crash</c> task (maxAttempts <see cref="PlannedFault.Value"/>): it ends every worker process that runs it.</summary>
    CrashTask,

    /// <summary>Every worker in turn: SIGTERM, wait for it to exit, start it again.</summary>
    RollingRestart,
}

/// <summary>One fault of the schedule.</summary>
/// <param name="Target">
/// A worker's name, <see cref="FaultSchedule.Primary"/> (the lease holder when it strikes), <see cref="FaultSchedule.Database"/>,
/// <see cref="FaultSchedule.Workers"/> or <see cref="FaultSchedule.AnyNode"/>.
/// </param>
/// <param name="Start">Seconds after the load started.</param>
/// <param name="End">Seconds after the load started when the fault is undone (start again, SIGCONT, logins allowed, latency cleared); the start for an instant fault.</param>
/// <param name="Value">Latency in ms, sessions to end, or the crash task's maxAttempts; null for the other kinds.</param>
internal sealed record PlannedFault(FaultKind Kind, string Target, double Start, double End, int? Value);

/// <summary>
/// The chaos schedule: overlapping faults drawn from <see cref="Random"/> seeded with the run's seed alone, so a seed
/// names one schedule (for the same length and workers) and a failing run can be replayed. Faults that would strike a
/// node, the primary or the database while an earlier fault still holds it (its length plus the time it takes to come
/// back) are not drawn: two faults on one target would undo each other, not add up.
/// </summary>
internal static class FaultSchedule
{
    public const string Primary = "primary";
    public const string Database = "database";
    public const string Workers = "workers";
    public const string AnyNode = "any";

    // The load runs alone first, so the report shows how the cluster served before anything struck.
    private const int FirstStrikeMs = 3_000;
    private const int MinGapMs = 1_500;
    private const int MaxGapMs = 6_000;

    // Shorter than this, a fault that ends in a restart or a SIGCONT would not be felt before it is undone.
    private const int ShortestMs = 500;

    // A rolling restart's planned time per worker: the SIGTERM's drain, the new process's start, its first heartbeat.
    private const int RollingPerWorkerMs = 8_000;

    private static readonly (FaultKind Kind, int Weight, int MinMs, int MaxMs, int RecoveryMs)[] Kinds =
    [
        (FaultKind.KillWorker, 6, 1_000, 6_000, 10_000),
        (FaultKind.PauseWorker, 4, 1_000, 8_000, 3_000),
        (FaultKind.KillPrimary, 3, 1_000, 5_000, 10_000),
        (FaultKind.PausePrimary, 2, 1_000, 8_000, 3_000),
        (FaultKind.DatabaseRestart, 2, 1_000, 6_000, 8_000),
        (FaultKind.TerminateSessions, 4, 0, 0, 1_000),
        (FaultKind.PrimaryLoginRefused, 2, 2_000, 8_000, 3_000),
        (FaultKind.WorkerLatency, 4, 2_000, 10_000, 1_000),
        (FaultKind.CrashTask, 2, 0, 0, 0),
        (FaultKind.RollingRestart, 2, 0, 0, 10_000),
    ];

    /// <param name="workers">The worker-only nodes' names: the targets of worker faults.</param>
    public static IReadOnlyList<PlannedFault> Generate(int seed, TimeSpan duration, IReadOnlyList<string> workers)
    {
        var random = new Random(seed);
        var endMs = (int)duration.TotalMilliseconds;
        var busyUntil = new Dictionary<string, int>(StringComparer.Ordinal);
        var faults = new List<PlannedFault>();
        for (var at = FirstStrikeMs; at < endMs; at += random.Next(MinGapMs, MaxGapMs + 1))
        {
            var (kind, _, minMs, maxMs, recoveryMs) = Weighted.Pick(random, Kinds, k => k.Weight);
            var lengthMs = kind == FaultKind.RollingRestart ? workers.Count * RollingPerWorkerMs : random.Next(minMs, maxMs + 1);
            var value = kind switch
            {
                FaultKind.WorkerLatency => random.Next(200, 2_001),
                FaultKind.TerminateSessions => random.Next(1, 6),
                FaultKind.CrashTask => random.Next(1, 3),
                _ => (int?)null,
            };
            var target = kind switch
            {
                FaultKind.KillWorker or FaultKind.PauseWorker or FaultKind.WorkerLatency => FreeWorker(random, workers, busyUntil, at),
                FaultKind.KillPrimary or FaultKind.PausePrimary or FaultKind.PrimaryLoginRefused => Primary,
                FaultKind.DatabaseRestart => Database,
                FaultKind.TerminateSessions => random.Next(2) == 0 ? AnyNode : Primary,
                FaultKind.CrashTask => AnyNode,
                FaultKind.RollingRestart => Workers,
                _ => throw new ArgumentOutOfRangeException(nameof(duration), kind, "no target for this kind"),
            };
            if (target is null)
            {
                continue;
            }

            // Faults end when the load does: one that would run past it is cut short, or left out when too little is left.
            lengthMs = Math.Min(lengthMs, endMs - at);
            var tooShort = kind == FaultKind.RollingRestart
                ? workers.Count == 0 || lengthMs < workers.Count * RollingPerWorkerMs
                : minMs > 0 && lengthMs < ShortestMs;
            if (tooShort)
            {
                continue;
            }

            var holds = Holds(kind, target, workers);
            if (holds.Any(resource => busyUntil.GetValueOrDefault(resource) > at))
            {
                continue;
            }

            foreach (var resource in holds)
            {
                busyUntil[resource] = at + lengthMs + recoveryMs;
            }

            faults.Add(new PlannedFault(kind, target, at / 1000.0, (at + lengthMs) / 1000.0, value));
        }

        return faults;
    }

    /// <summary>A worker no fault holds at <paramref name="atMs"/>, drawn at random; null when every one is held.</summary>
    private static string? FreeWorker(Random random, IReadOnlyList<string> workers, Dictionary<string, int> busyUntil, int atMs)
    {
        var free = workers.Where(w => busyUntil.GetValueOrDefault(w) <= atMs).ToList();
        return free.Count == 0 ? null : free[random.Next(free.Count)];
    }

    /// <summary>What a fault holds while it lasts: the nodes, the primary and the database it must not share with another fault.</summary>
    private static IReadOnlyList<string> Holds(FaultKind kind, string target, IReadOnlyList<string> workers) => kind switch
    {
        FaultKind.RollingRestart => workers,
        FaultKind.PrimaryLoginRefused => [Primary, Database],
        FaultKind.TerminateSessions => [Database],
        FaultKind.CrashTask => [],
        _ => [target],
    };
}
