using System.Globalization;
using TaskServer.Drill.Cluster;

namespace TaskServer.Drill.Bench;

/// <summary>CPU time used so far (ms) by each role's processes, when it was read (ms since the run's start).</summary>
internal sealed record CpuSample(double AtMs, IReadOnlyDictionary<string, double> CpuMsByRole)
{
    public const string Gateway = "gateway";
    public const string Worker = "worker";
    public const string Database = "database";
}

/// <summary>What CPU a cluster used between two samples: percent of all the machine's cores, and ms per task, per role and in total.</summary>
internal sealed record CpuUsage(double? TotalPercent, IReadOnlyDictionary<string, double> PercentByRole, IReadOnlyDictionary<string, double> MsByRole)
{
    public static CpuUsage Between(CpuSample before, CpuSample after, int cores)
    {
        var seconds = (after.AtMs - before.AtMs) / 1000;
        var used = after.CpuMsByRole.ToDictionary(r => r.Key, r => Math.Max(0, r.Value - before.CpuMsByRole.GetValueOrDefault(r.Key)));
        double Percent(double ms) => seconds <= 0 ? 0 : Math.Round(ms / 1000 / seconds / cores * 100, 2);
        return new CpuUsage(
            seconds <= 0 ? null : Percent(used.Values.Sum()),
            used.ToDictionary(u => u.Key, u => Percent(u.Value)),
            used.ToDictionary(u => u.Key, u => Math.Round(u.Value, 1)));
    }

    public IReadOnlyDictionary<string, double> PerTask(int tasks) =>
        tasks == 0 ? new Dictionary<string, double>() : MsByRole.ToDictionary(u => u.Key, u => Math.Round(u.Value / tasks, 3));
}

/// <summary>
/// Reads the CPU time of the cluster's processes from /proc/PID/stat: every node of the cluster file
/// (gateway: the nodes that run one, standalone ones included; worker: the others) and PostgreSQL (the
/// postmaster and its children), each with its descendants.
/// </summary>
internal sealed class ProcessCpu(ClusterEnv env, Load.RunClock clock, Func<CancellationToken, Task<int?>> postmaster)
{
    private readonly NodeSignals signals = new(env);

    // /proc reports times in USER_HZ, which is 100 on every Linux ABI .NET runs on.
    private const double MsPerTick = 10;

    public async Task<CpuSample> SampleAsync(CancellationToken cancellationToken)
    {
        var at = clock.NowMs;
        var byRole = new Dictionary<string, double> { [CpuSample.Gateway] = 0, [CpuSample.Worker] = 0 };
        foreach (var member in env.Members)
        {
            if (await signals.FindPidAsync(member.Name, cancellationToken) is { } pid)
            {
                byRole[member.IsGateway ? CpuSample.Gateway : CpuSample.Worker] += await TreeMsAsync(pid, cancellationToken);
            }
        }

        if (await postmaster(cancellationToken) is { } database)
        {
            byRole[CpuSample.Database] = await TreeMsAsync(database, cancellationToken);
        }

        return new CpuSample(at, byRole);
    }

    /// <summary>utime + stime of the process and its children reaped (cutime + cstime), plus utime + stime of its live descendants.</summary>
    /// <remarks>
    /// A PostgreSQL backend that exits between two samples moves its whole time into the postmaster's
    /// cutime/cstime when it is reaped, so the difference of two samples counts it exactly once.
    /// </remarks>
    private static async Task<double> TreeMsAsync(int root, CancellationToken cancellationToken)
    {
        var tree = await NodeSignals.TreeAsync(root, cancellationToken);
        double ticks = 0;
        foreach (var pid in tree)
        {
            if (await StatAsync(pid, cancellationToken) is { } fields)
            {
                // After "pid (comm) ": state is field 3, utime 14, stime 15, cutime 16, cstime 17 (1-based).
                ticks += Field(fields, 14) + Field(fields, 15) + (pid == root ? Field(fields, 16) + Field(fields, 17) : 0);
            }
        }

        return ticks * MsPerTick;
    }

    /// <summary>The ppid of a process (the postmaster, for a backend), or null when it is gone.</summary>
    public static async Task<int?> ParentAsync(int pid, CancellationToken cancellationToken) =>
        await StatAsync(pid, cancellationToken) is { } fields ? (int)Field(fields, 4) : null;

    private static async Task<string[]?> StatAsync(int pid, CancellationToken cancellationToken)
    {
        try
        {
            var stat = await File.ReadAllTextAsync($"/proc/{pid}/stat", cancellationToken);
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return null;
        }
    }

    // fields[0] is field 3 (state).
    private static double Field(string[] fields, int number) => double.Parse(fields[number - 3], CultureInfo.InvariantCulture);
}
