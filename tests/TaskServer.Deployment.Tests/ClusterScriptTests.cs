using System.Diagnostics;

namespace TaskServer.Deployment.Tests;

/// <summary>
/// scripts/cluster.sh is exercised for real by hand and by the drills (a cluster takes too long to start here);
/// this only keeps a syntax error from reaching them.
/// </summary>
public sealed class ClusterScriptTests
{
    [Fact]
    public async Task The_cluster_script_is_valid_bash()
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-n");
        start.ArgumentList.Add(Repository.PathOf("scripts/cluster.sh"));
        using var bash = Process.Start(start)!;

        var errors = await bash.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await bash.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.True(bash.ExitCode == 0, errors);
    }
}
