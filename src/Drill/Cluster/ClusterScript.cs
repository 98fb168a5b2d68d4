using System.Diagnostics;

namespace TaskServer.Drill.Cluster;

/// <summary>
/// What only scripts/cluster.sh does for a cluster, run as the script itself (the file names it:
/// CLUSTER_SCRIPT): start a struck node again with the same settings, stop and start the database.
/// </summary>
internal sealed class ClusterScript(ClusterEnv env)
{
    /// <summary><c>cluster.sh restart NAME</c>: returns once the node answers /health/live.</summary>
    public Task RestartAsync(string node, CancellationToken cancellationToken) => RunAsync(["restart", node], cancellationToken);

    public Task StopDatabaseAsync(CancellationToken cancellationToken) => RunAsync(["db", "stop"], cancellationToken);

    public Task StartDatabaseAsync(CancellationToken cancellationToken) => RunAsync(["db", "start"], cancellationToken);

    private async Task RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(env.RequireClusterScript());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new DrillException($"Could not start {env.ClusterScript}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new DrillException($"{env.ClusterScript} {string.Join(' ', arguments)} failed ({process.ExitCode}): {(await errors).Trim()} {(await output).Trim()}");
        }
    }
}
