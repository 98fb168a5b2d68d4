using System.Collections.Concurrent;
using System.Globalization;
using Npgsql;
using Spectre.Console;
using TaskServer.Client;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Experiment;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;
using TaskServer.Drill.Scenarios;

namespace TaskServer.Drill.Chaos;

/// <param name="Duration">How long the load runs and the faults strike.</param>
/// <param name="CheckTimeout">How long, once the cluster is whole again, every acknowledged task has to be final.</param>
internal sealed record ChaosSettings(TimeSpan Duration, int Seed, double Rate, TimeSpan CheckTimeout);

/// <summary>
/// chaos: a mixed load through both gateways while overlapping faults drawn from the seed strike the cluster; then
/// the cluster is made whole, every acknowledged task is waited for, and the checker judges each from its reads and
/// its side effects (Jepsen's method: random faults, then a checker over every acknowledged operation).
/// </summary>
internal sealed class ChaosRun(DrillContext context, ChaosSettings settings)
{
    private const int ViolationsListedPerKind = 100;

    // Unanswered this long after the load's end, a submission is abandoned: never acknowledged, so never owed.
    private static readonly TimeSpan GiveUpAfterLoad = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan PrimaryTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(10);

    private readonly Faults faults = new(context.Env, context.Http);
    private readonly ClusterScript script = new(context.Env);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var env = context.Env;
        if (!env.FaultsEnabled)
        {
            throw new DrillException($"chaos needs POST /admin/faults and the crash task, and {env.Source} says the nodes run without them: start the cluster with 'scripts/cluster.sh up --faults'.");
        }

        env.RequireClusterScript();
        if (env.Members.Count == 0)
        {
            throw new DrillException($"{env.Source} does not name its nodes (NODES, one per gateway and worker): the faults need their names.");
        }

        var workers = env.Members.Where(m => !m.IsGateway).Select(m => m.Name).ToList();
        var schedule = FaultSchedule.Generate(settings.Seed, settings.Duration, workers);
        await context.Api.WaitForPrimaryAsync(PrimaryTimeout, cancellationToken);
        context.Log(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"chaos: seed {settings.Seed}, {schedule.Count} faults over {settings.Duration.TotalSeconds:0.#} s, {settings.Rate:0.#} tasks/s through {string.Join(", ", env.Gateways)}.")));

        await using var run = DrillRun.Start(context);
        var log = new ChaosLog(context, run.Clock);
        var mix = new ChaosMix(settings.Seed, run.Sink.Url);
        var observer = new TaskObserver(run.Client, context.Time);
        var tasks = new ConcurrentDictionary<Guid, CheckedTask>();
        void Acknowledged(CheckedTask task)
        {
            tasks[task.Id] = task;
            observer.Track(task.Id);
        }

        using var locks = new TargetLocks(env.Members.Select(m => m.Name).Append(FaultSchedule.Database));
        var keeper = new NodeKeeper(context, script, locks, log);
        var runner = new FaultRunner(context, log, locks, run.Client, Acknowledged);
        using var keeperStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var loadOver = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var keeping = keeper.RunAsync(keeperStop.Token, cancellationToken);
        var following = observer.FollowAsync(loadOver.Token);
        var progress = ProgressAsync(run, observer, loadOver.Token);
        var striking = Task.WhenAll(schedule.Select(fault => runner.RunAsync(fault, cancellationToken)));

        var count = (int)Math.Ceiling(settings.Rate * settings.Duration.TotalSeconds);
        var submissions = await run.Load.RunAsync(
            count,
            settings.Rate,
            mix.Next,
            cancellationToken,
            settings.Duration + GiveUpAfterLoad,
            submission => Acknowledged(Checked(submission, mix.Of(submission.Index))));
        var struck = await striking;
        await loadOver.CancelAsync();
        await Task.WhenAll(following, progress);
        log.Add($"load and faults over: {tasks.Count} tasks acknowledged; making the cluster whole");

        var notes = new List<string>();
        await RecoverAsync(keeper, log, notes, cancellationToken);
        var checkStarted = context.Time.GetTimestamp();
        log.Add($"waiting up to {settings.CheckTimeout.TotalSeconds:0} s for {observer.Pending} tasks not seen final yet");
        var settled = await observer.SettleAsync(settings.CheckTimeout, cancellationToken);
        var settledAfter = context.Time.GetElapsedTime(checkStarted);
        var deadline = context.Time.GetUtcNow();
        await CancelCrashTasksAsync(run, tasks.Values, observer, log, notes, cancellationToken);
        if (!await observer.ConfirmAsync(cancellationToken))
        {
            notes.Add("The last pass over every task (pages of GET /tasks) did not finish: no gateway answered.");
        }

        await keeperStop.CancelAsync();
        await keeping;

        // A crash task requeued during the check may have ended a node since: the cluster is left as it was found.
        if (await keeper.RestartDownAsync(cancellationToken) is { Count: > 0 } down)
        {
            notes.Add($"Still down at the end, start them with scripts/cluster.sh restart: {string.Join(", ", down)}.");
        }

        var reads = observer.Reads();
        var check = ChaosChecker.Check([.. tasks.Values], reads, run.Sink.Arrivals(), deadline);
        var report = Report(run, submissions, struck, tasks, reads, check, settled ? settledAfter.TotalSeconds : null, log, notes);
        await ReportWriter.WriteAsync(context.ReportDirectory, report, ReportWriter.Markdown(report), ChaosHtml.Render(report), cancellationToken);
        Print(report);
        return report.Passed ? 0 : DrillCommands.InvariantsFailed;
    }

    /// <summary>
    /// Whatever the faults left undone, undone: the database up, every role allowed to log in, every node running and
    /// without injected latency, a primary. The check's wait starts only then, so it measures the cluster's recovery of
    /// its tasks rather than the drill's restarts.
    /// </summary>
    private async Task RecoverAsync(NodeKeeper keeper, ChaosLog log, List<string> notes, CancellationToken cancellationToken)
    {
        var env = context.Env;
        await TryAsync(notes, "start the database", () => script.StartDatabaseAsync(cancellationToken), cancellationToken);
        if (env.IsPostgreSql)
        {
            foreach (var node in env.Nodes)
            {
                await TryAsync(notes, $"allow {node}'s logins", () => faults.ReconnectAsync(node, cancellationToken), cancellationToken);
            }
        }

        var until = log.Now + RecoveryTimeout.TotalSeconds;
        IReadOnlyList<string> down;
        while ((down = await keeper.RestartDownAsync(cancellationToken)).Count > 0 && log.Now < until)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), context.Time, cancellationToken);
        }

        if (down.Count > 0)
        {
            notes.Add($"Not running after {RecoveryTimeout.TotalSeconds:0} s of recovery: {string.Join(", ", down)}.");
        }

        foreach (var member in env.Members)
        {
            await TryAsync(notes, $"clear the faults of {member.Name}", () => faults.SetAsync(member.Url, "clear", null, cancellationToken), cancellationToken);
        }

        await TryAsync(
            notes,
            "find a primary",
            async () => log.Add($"cluster whole: {(await context.Api.WaitForPrimaryAsync(PrimaryTimeout, cancellationToken)).View.Self.Id} is primary"),
            cancellationToken);
    }

    /// <summary>One step of the recovery; a step that fails is noted and the rest go on, so the check still runs and reports.</summary>
    private static async Task TryAsync(List<string> notes, string what, Func<Task> step, CancellationToken cancellationToken)
    {
        try
        {
            await step();
        }
        catch (Exception e) when (e is DrillException or HttpRequestException or NpgsqlException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            notes.Add($"Recovery could not {what}: {e.Message}");
        }
    }

    /// <summary>
    /// A crash task still active once the check is over would go on ending every worker it is requeued onto after the
    /// run (on a build whose requeues ignore maxAttempts, for ever): cancelled, so the cluster is left as it was found.
    /// </summary>
    private static async Task CancelCrashTasksAsync(
        DrillRun run, IEnumerable<CheckedTask> tasks, TaskObserver observer, ChaosLog log, List<string> notes, CancellationToken cancellationToken)
    {
        var reads = observer.Reads();
        foreach (var task in tasks.Where(t => t.Type == "crash" && !(reads.TryGetValue(t.Id, out var history) && history.Count > 0 && history[^1].IsFinal)))
        {
            try
            {
                await run.Client.CancelAsync(task.Id, cancellationToken);
                log.Add($"crash task {task.Id} still active after the check: cancelled");
                notes.Add($"Crash task {task.Id} was still active after the check and was cancelled (it is counted as the check found it).");
            }
            catch (TaskServerException e)
            {
                notes.Add($"Crash task {task.Id} was still active after the check and could not be cancelled: {e.Message}");
            }
        }
    }

    private async Task ProgressAsync(DrillRun run, TaskObserver observer, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(ProgressInterval, context.Time, stop);
                context.Log(string.Create(CultureInfo.InvariantCulture, $"{run.Clock.NowMs / 1000,7:0.00} s: {run.Load.Started} sent, {run.Load.Acknowledged} acknowledged, {observer.Pending} not seen final yet"));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The load is over.
        }
    }

    private static CheckedTask Checked(Submission submission, MixedTask task) =>
        new(submission.TaskId!.Value, task.Kind, task.Spec.Type, task.Spec.MaxAttempts ?? 0, task.Payload);

    private ChaosReport Report(
        DrillRun run,
        IReadOnlyList<Submission> submissions,
        IReadOnlyList<ChaosFault> struck,
        ConcurrentDictionary<Guid, CheckedTask> tasks,
        IReadOnlyDictionary<Guid, IReadOnlyList<TaskRead>> reads,
        CheckResult check,
        double? settledAfterS,
        ChaosLog log,
        List<string> notes)
    {
        var settingsList = new Dictionary<string, string>
        {
            ["seed"] = settings.Seed.ToString(CultureInfo.InvariantCulture),
            ["duration_s"] = settings.Duration.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["rate_per_s"] = settings.Rate.ToString(CultureInfo.InvariantCulture),
            ["check_timeout_s"] = settings.CheckTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["policy"] = context.Env.Policy ?? "unknown",
            ["nodes"] = string.Join(",", context.Env.Nodes),
            ["task_mix"] = "echo 30%, hash 25%, callback 30%, sleep 12%, hang 3% (a sleep past its 1 s timeout); maxAttempts 1-5; timeout 5s/10s/30s",
        };
        var lastReads = reads.Values.Where(r => r.Count > 0).Select(r => r[^1]).ToList();
        var counts = check.Counts;
        return new ChaosReport(ReportHeader.Of("chaos", context, run.Clock, settingsList))
        {
            Seed = settings.Seed,
            Faults = struck,
            Submitted = submissions.Count,
            Acknowledged = tasks.Count,
            AcknowledgedByKind = tasks.Values.GroupBy(t => t.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            SubmitErrors = submissions.Count(s => s.Error is not null),
            FinalStatuses = lastReads.Where(r => r.IsFinal).GroupBy(r => r.Status).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            Lost = counts.Lost,
            AttemptsOverMax = counts.AttemptsOverMax,
            StaleSideEffects = counts.StaleSideEffects,
            BackwardsStatuses = counts.BackwardsStatuses,
            WrongResults = counts.WrongResults,
            Passed = counts.AllZero,
            SettledAfterS = settledAfterS is { } s ? Math.Round(s, 1) : null,
            FailedAttempts = run.Recorder.FailedAttemptsByReason(),
            IdempotentReplays = run.Recorder.Replays,
            Violations = [.. check.Violations.GroupBy(v => v.Kind).SelectMany(g => g.Take(ViolationsListedPerKind))],
            ViolationsListedPerKind = ViolationsListedPerKind,
            Events = log.Events,
            Timeline = run.Timeline(submissions),
            Notes = notes,
        };
    }

    private void Print(ChaosReport report)
    {
        var table = new Table().Title($"chaos, seed {report.Seed} ({report.Storage})").AddColumns("figure", "value");
        table.AddRow("faults struck / planned", $"{report.Faults.Count(f => f.Struck is not null)} / {report.Faults.Count}");
        table.AddRow("submitted / acknowledged / errors", $"{report.Submitted} / {report.Acknowledged} / {report.SubmitErrors}");
        foreach (var (figure, value) in report.Counts())
        {
            table.AddRow(figure, value == 0 ? "[green]0[/]" : $"[red]{value}[/]");
        }

        context.Console.Write(table);
        context.Console.MarkupLine($"{(report.Passed ? "[green]PASS[/]" : "[red]FAIL[/]")}: report in [blue]{Markup.Escape(context.ReportDirectory)}[/] (report.json, report.md, report.html)");
    }
}
