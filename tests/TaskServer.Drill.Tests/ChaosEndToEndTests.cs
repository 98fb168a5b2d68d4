using System.Globalization;
using System.Text.Json;
using TaskServer.Drill.Cli;

namespace TaskServer.Drill.Tests;

/// <summary>
/// chaos against a real cluster: <c>scripts/cluster.sh up --faults</c> on free ports (<see cref="ScriptedCluster"/>),
/// then the command as an operator runs it, 60 s at 100 tasks/s under the faults of a fixed seed, and the checker's
/// counts read back from report.json. The seed's schedule holds every kind of fault (a rolling restart, a database
/// restart, a crash task, kills and pauses of workers and of the primary, latency, ended sessions, refused logins).
/// The report and the nodes' logs stay under artifacts/drill/chaos-e2e/.
/// </summary>
public sealed class ChaosEndToEndTests
{
    private const int Seed = 1147;

    private static readonly string[] Counts = ["lost", "attempts_over_max", "stale_side_effects", "backwards_statuses", "wrong_results"];

    [Fact(Timeout = 360_000)]
    public async Task A_minute_of_random_faults_loses_no_task_and_breaks_no_rule()
    {
        var ct = TestContext.Current.CancellationToken;
        var report = Repository.Artifacts("chaos-e2e", "report");
        await using var cluster = await ScriptedCluster.UpAsync(TimeSpan.FromMinutes(3), ct);

        var exit = await DrillCommands.Build()
            .Parse(["chaos", "--cluster", cluster.EnvFile, "--duration", "60s", "--seed", Seed.ToString(CultureInfo.InvariantCulture), "--rate", "100", "--report", report])
            .InvokeAsync(cancellationToken: ct);

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(report, "report.json"), ct));
        var root = json.RootElement;
        var faults = root.GetProperty("faults").EnumerateArray().ToList();
        // Not a throughput check (a busy machine acknowledges a fraction of the 6,000): only that the counts below are
        // about real traffic, which a few hundred tasks under the whole schedule of faults are.
        Assert.True(root.GetProperty("acknowledged").GetInt32() >= 300, $"the load barely ran: {root.GetProperty("acknowledged")} acknowledged");
        Assert.True(faults.Count(f => f.GetProperty("struck").ValueKind != JsonValueKind.Null) * 2 >= faults.Count, "fewer than half the faults struck");
        var counts = Counts.ToDictionary(name => name, name => root.GetProperty(name).GetInt32());
        Assert.True(
            counts.Values.All(count => count == 0),
            $"{string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}"))} (exit code {exit}); see {Path.Combine(report, "report.md")}");
        Assert.Equal(0, exit);
    }
}
