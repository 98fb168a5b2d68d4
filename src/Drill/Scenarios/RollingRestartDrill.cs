using Spectre.Console;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Scenarios;

/// <summary>
/// rolling-restart: a deploy under load. Sleep tasks stream in; once a third of them are sent, every worker in turn
/// gets SIGTERM, is waited for, started again and waited for until ready. A graceful shutdown should make this no fault
/// at all: nothing lost, no error answered to a client (not even one the client library retried), and nothing re-run,
/// since every task is shorter than the shutdown grace.
/// </summary>
internal sealed class RollingRestartDrill(DrillContext context, LoadSettings settings, TimeSpan taskDuration)
{
    private const string NotPrimary = "503 not-primary";

    // The worker's ShutdownGrace (30 s) and DeregistrationDelay (2 s), and room for a busy machine.
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan ReadyWait = TimeSpan.FromSeconds(60);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var workers = context.Env.Members.Where(m => !m.IsGateway).ToList();
        if (workers.Count < 2)
        {
            throw new DrillException($"{context.Env.Source} lists {workers.Count} worker-only node(s): a rolling restart needs two, so one runs while the other restarts.");
        }

        await using var run = DrillRun.Start(context);
        var clock = run.Clock;
        var script = new ClusterScript(context.Env);
        var sleep = new TaskSpec("sleep", new { ms = (int)taskDuration.TotalMilliseconds });
        var loadRun = run.Load.RunAsync(settings.Tasks, settings.Rate, _ => sleep, cancellationToken);
        await run.StrikePointAsync(settings, loadRun, cancellationToken);

        var struckMs = clock.NowMs;
        var stops = new List<double>();
        var killed = new List<string>();
        foreach (var worker in workers)
        {
            var stopping = clock.NowMs;
            run.Mark($"SIGTERM {worker.Name}");
            var graceful = await context.Signals.StopAsync(worker.Name, StopWait, cancellationToken);
            stops.Add(clock.NowMs - stopping);
            if (!graceful)
            {
                killed.Add(worker.Name);
                run.Notes.Add($"{worker.Name} was still running {StopWait.TotalSeconds:0} s after SIGTERM and was killed.");
            }

            context.Log($"{Markup.Escape(worker.Name)} {(graceful ? "exited" : "[red]killed[/]")} {clock.NowMs - stopping:0} ms after SIGTERM; starting it again.");
            await script.RestartAsync(worker.Name, cancellationToken);
            if (await context.Api.WaitUntilReadyAsync(worker.Url, ReadyWait, context.Time, cancellationToken))
            {
                run.Mark($"{worker.Name} ready");
            }
            else
            {
                run.Notes.Add($"{worker.Name} was not ready {ReadyWait.TotalSeconds:0} s after it started.");
            }
        }

        var submissions = await loadRun;
        var drained = await run.DrainAsync(submissions, struckMs, disruptedGateway: null, settings.DrainTimeout, cancellationToken);
        var figures = drained.Figures;

        // A backup's 503 not-primary tells a client that has not yet found the primary where to go; it comes with or
        // without a restart, so it is not one of the restart's errors.
        var errorAnswers = run.Recorder.FailedAttempts
            .Where(f => f.Ms >= struckMs && f.Reason != NotPrimary)
            .GroupBy(f => f.Reason)
            .ToDictionary(g => g.Key, g => g.Count());

        var invariants = new List<Invariant>
        {
            new("every worker stopped within its grace", killed.Count == 0, $"SIGTERM to exit: {string.Join(", ", stops.Select(s => $"{s:0} ms"))}"),
            new("no client answered with an error", errorAnswers.Count == 0 && figures.SubmitErrors == 0, $"{errorAnswers.Values.Sum()} error answers from the first SIGTERM on ({string.Join(", ", errorAnswers.Select(e => $"{e.Key} x{e.Value}"))}), retried by the client; {figures.SubmitErrors} submissions given up on"),
            new("nothing re-run", figures.Requeued == 0, $"{figures.Requeued} tasks finished on a later attempt"),
        };
        invariants.AddRange(DrillRun.NothingLostOrRepeated(figures));
        var runSettings = settings.Describe();
        runSettings["workers"] = string.Join(",", workers.Select(w => w.Name));
        runSettings["task"] = $"sleep {taskDuration.TotalMilliseconds:0} ms";
        var report = DrillReport.Of(ReportHeader.Of("rolling-restart", context, clock, runSettings), figures, run.Recorder, target: null, invariants, run.Notes);

        await run.WriteAsync(context.ReportDirectory, report, submissions, $"rolling-restart: {context.Env.StorageProvider}, {settings.Rate:0.#} tasks/s", cancellationToken);
        Summary.Print(context, report);
        return report.Passed ? 0 : DrillCommands.InvariantsFailed;
    }
}
