using System.Globalization;
using System.Net;
using Spectre.Console;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Scenarios;

/// <summary>
/// kill-primary --repeat N: N drills on one cluster, the struck node started again between them with
/// scripts/cluster.sh restart (so the roles alternate), each run's report under run-NN/, and one
/// aggregate report: TTD and TTR over the runs, false suspicions, lost and duplicates in total.
/// </summary>
internal sealed class RepeatedGatewayDrill(DrillContext context, LoadSettings settings, int repeat)
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    // After a restart the backup must have probed the primary healthy a few times before the next strike, or a
    // suspicion left over from its start would count against the next run.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var script = new ClusterScript(context.Env);
        context.Env.RequireClusterScript();
        var clock = new RunClock(context.Time);
        var runs = new List<(string, GatewayRunRecord)>();
        for (var i = 1; i <= repeat; i++)
        {
            await WaitForPrimaryAndBackupAsync(cancellationToken);
            var directory = string.Create(CultureInfo.InvariantCulture, $"run-{i:00}");
            context.Log($"[bold]Run {i} of {repeat}[/] ({Markup.Escape(directory)}).");
            var run = await new GatewayDrill(context, settings, pause: null).RunOnceAsync(Path.Combine(context.ReportDirectory, directory), cancellationToken);
            runs.Add((directory, run));
            context.Log($"Run {i}: {(run.Report.Passed ? "[green]PASS[/]" : "[red]FAIL[/]")}, TTD {ReportWriter.Format(run.Report.TtdMs)} ms, TTR {ReportWriter.Format(run.Report.TtrMs)} ms; restarting {Markup.Escape(run.StruckNode)}.");
            await script.RestartAsync(run.StruckNode, cancellationToken);
        }

        var runSettings = settings.Describe();
        runSettings["repeat"] = repeat.ToString(CultureInfo.InvariantCulture);
        runSettings["task_type"] = "callback";
        var report = RepeatedDrillReport.Of(ReportHeader.Of("kill-primary", context, clock, runSettings), runs);
        Directory.CreateDirectory(context.ReportDirectory);
        await File.WriteAllTextAsync(Path.Combine(context.ReportDirectory, "report.json"), ReportWriter.ToJson(report), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(context.ReportDirectory, "report.md"), ReportWriter.Markdown(report), cancellationToken);
        Summary.Print(context, report);
        return report.Passed ? 0 : DrillCommands.InvariantsFailed;
    }

    /// <summary>Until one gateway answers /health/primary 200 and another 503 (a live backup), then a settle.</summary>
    private async Task WaitForPrimaryAndBackupAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ReadyTimeout);
        try
        {
            while (true)
            {
                var answers = new List<HttpStatusCode?>();
                foreach (var gateway in context.Env.Gateways)
                {
                    answers.Add(await context.Api.HealthAsync(gateway, "primary", TimeSpan.FromSeconds(1), deadline.Token));
                }

                if (answers.Count(a => a == HttpStatusCode.OK) == 1 && answers.Any(a => a == HttpStatusCode.ServiceUnavailable))
                {
                    await Task.Delay(Settle, deadline.Token);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DrillException($"No primary with a live backup within {ReadyTimeout.TotalSeconds:0} s.");
        }
    }
}
