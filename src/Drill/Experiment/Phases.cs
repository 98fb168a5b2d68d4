namespace TaskServer.Drill.Experiment;

/// <summary>What counts as the cluster's own detection of a fault, read from its records.</summary>
internal enum Detection
{
    /// <summary>Nothing to detect (the baseline).</summary>
    None,

    /// <summary>GET /cluster on the primary: the struck worker no longer routed, no longer live, or gone.</summary>
    WorkerOutOfRotation,

    /// <summary>The new primary's failover record: its suspected_at.</summary>
    PrimarySuspected,

    /// <summary>GET /cluster on the primary: the struck worker's <c>quarantined</c> true (null while the cluster does not report it).</summary>
    WorkerQuarantined,

    /// <summary>The first 503 storage-unavailable answer to a submission.</summary>
    StorageUnavailable,
}

/// <summary>A phase of the experiment: its name on the command line, the fault, and how the cluster should notice it.</summary>
internal sealed record Phase(string Name, string Fault, Detection Detection, bool NeedsFaultEndpoint = false, bool PostgreSqlOnly = false)
{
    public static readonly IReadOnlyList<Phase> All =
    [
        new("baseline", "none: the steady load alone", Detection.None),
        new("crash-worker", "SIGKILL a worker", Detection.WorkerOutOfRotation),
        new("crash-primary", "SIGKILL the primary gateway", Detection.PrimarySuspected),
        new("pause-primary", "SIGSTOP the primary past its lease, then SIGCONT", Detection.PrimarySuspected),
        new("latency", "1,200 ms added to every request of one worker (POST /admin/faults)", Detection.WorkerOutOfRotation, NeedsFaultEndpoint: true),
        new("intermittent", "30% of one worker's requests answered 500 (POST /admin/faults)", Detection.WorkerOutOfRotation, NeedsFaultEndpoint: true),
        new("incorrect", "one worker returns wrong results (POST /admin/faults)", Detection.WorkerQuarantined, NeedsFaultEndpoint: true),
        new("database-restart", "PostgreSQL stopped, started again after 5 s (cluster.sh db stop|start)", Detection.StorageUnavailable, PostgreSqlOnly: true),
        new("partition-primary", "the primary cut off from PostgreSQL while it runs: its role refused logins, its sessions ended", Detection.PrimarySuspected, PostgreSqlOnly: true),
    ];

    public string DetectionText => Detection switch
    {
        Detection.None => "none",
        Detection.WorkerOutOfRotation => "worker out of rotation (GET /cluster: not routed, not live, or gone)",
        Detection.PrimarySuspected => "primary suspected (the new primary's failover record, suspected_at)",
        Detection.WorkerQuarantined => "worker quarantined (GET /cluster node field quarantined)",
        Detection.StorageUnavailable => "storage marked unavailable (first 503 storage-unavailable answer)",
        _ => throw new ArgumentOutOfRangeException(nameof(Detection)),
    };

    /// <summary>The phases named on the command line, in the experiment's order; unknown names are an error that lists the known ones.</summary>
    public static IReadOnlyList<Phase> Select(IReadOnlyCollection<string> names)
    {
        if (names.Count == 0)
        {
            return All;
        }

        var unknown = names.Where(n => All.All(p => p.Name != n)).ToList();
        return unknown.Count > 0
            ? throw new ArgumentException($"unknown phase(s) {string.Join(", ", unknown)}; the phases are {string.Join(", ", All.Select(p => p.Name))}")
            : [.. All.Where(p => names.Contains(p.Name))];
    }
}
