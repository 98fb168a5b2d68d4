using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using TaskServer.Client;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Experiment;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Chaos;

/// <summary>A fault as planned and as it went: whom it struck, when it struck and when it was undone (seconds since the load started).</summary>
/// <param name="Struck">The node (the primary of the moment, for a primary fault), the sessions or the task it struck; null when it did not run.</param>
internal sealed record ChaosFault(
    FaultKind Kind,
    string Target,
    double Start,
    double End,
    int? Value,
    string? Struck,
    double? StruckAt,
    double? UndoneAt,
    IReadOnlyList<string> Notes);

/// <summary>
/// Runs one fault of the schedule at its time, through what the drills already use: real signals, scripts/cluster.sh
/// (restart a node, stop and start the database), POST /admin/faults, the nodes' PostgreSQL roles, and a crash task
/// submitted like any other. Every strike is undone at the fault's end, even when the run is cut short.
/// </summary>
internal sealed class FaultRunner(DrillContext context, ChaosLog log, TargetLocks locks, TaskServerClient client, Action<CheckedTask> acknowledged)
{
    private static readonly TimeSpan PrimaryWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RollingStopGrace = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReadyWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan UndoTimeout = TimeSpan.FromSeconds(60);

    // The experiment found that a session authenticating while the role was refused can still get in: end them twice.
    private static readonly TimeSpan SecondCut = TimeSpan.FromMilliseconds(250);

    private readonly Faults faults = new(context.Env, context.Http);
    private readonly ClusterScript script = new(context.Env);

    public async Task<ChaosFault> RunAsync(PlannedFault fault, CancellationToken cancellationToken)
    {
        await UntilAsync(fault.Start, cancellationToken);
        var strike = new Strike(fault, log);
        try
        {
            await (fault.Kind switch
            {
                FaultKind.KillWorker => KillAsync(fault.Target, strike, cancellationToken),
                FaultKind.PauseWorker => PauseAsync(fault.Target, strike, cancellationToken),
                FaultKind.KillPrimary => OnPrimaryAsync(strike, primary => KillAsync(primary, strike, cancellationToken), cancellationToken),
                FaultKind.PausePrimary => OnPrimaryAsync(strike, primary => PauseAsync(primary, strike, cancellationToken), cancellationToken),
                FaultKind.DatabaseRestart => RestartDatabaseAsync(strike, cancellationToken),
                FaultKind.TerminateSessions => TerminateSessionsAsync(strike, cancellationToken),
                FaultKind.PrimaryLoginRefused => OnPrimaryAsync(strike, primary => RefuseLoginsAsync(primary, strike, cancellationToken), cancellationToken),
                FaultKind.WorkerLatency => LatencyAsync(fault.Target, strike, cancellationToken),
                FaultKind.CrashTask => CrashTaskAsync(strike, cancellationToken),
                FaultKind.RollingRestart => RollingRestartAsync(strike, cancellationToken),
                _ => throw new ArgumentOutOfRangeException(nameof(fault), fault.Kind, "no runner for this fault"),
            });
        }
        catch (Exception e) when (e is DrillException or HttpRequestException or NpgsqlException or TaskServerException or IOException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            strike.Note($"failed: {e.Message}");
        }

        return strike.ToFault();
    }

    private async Task KillAsync(string node, Strike strike, CancellationToken cancellationToken)
    {
        using var held = await HoldAsync(node, strike, cancellationToken);
        if (held is null)
        {
            return;
        }

        if (await TreeAsync(node, cancellationToken) is { } tree)
        {
            NodeSignals.Send(tree, Signal.Kill);
            strike.Struck(node, "SIGKILL");
        }
        else
        {
            strike.Note($"{node} was already down");
        }

        await UntilAsync(strike.Fault.End, cancellationToken);
        await StartAgainAsync(node, strike, cancellationToken);
    }

    private async Task PauseAsync(string node, Strike strike, CancellationToken cancellationToken)
    {
        using var held = await HoldAsync(node, strike, cancellationToken);
        if (held is null)
        {
            return;
        }

        if (await TreeAsync(node, cancellationToken) is not { } tree)
        {
            strike.Note($"{node} was down: nothing to pause");
            return;
        }

        NodeSignals.Send(tree, Signal.Stop);
        strike.Struck(node, "SIGSTOP");
        try
        {
            await UntilAsync(strike.Fault.End, cancellationToken);
        }
        finally
        {
            try
            {
                NodeSignals.Send(tree, Signal.Continue);
                strike.Undone("SIGCONT");
            }
            catch (DrillException e)
            {
                strike.Note($"SIGCONT failed: {e.Message}");
            }
        }
    }

    private async Task RestartDatabaseAsync(Strike strike, CancellationToken cancellationToken)
    {
        using var held = await HoldAsync(FaultSchedule.Database, strike, cancellationToken);
        if (held is null)
        {
            return;
        }

        await script.StopDatabaseAsync(cancellationToken);
        strike.Struck(FaultSchedule.Database, "stopped");
        try
        {
            await UntilAsync(strike.Fault.End, cancellationToken);
        }
        finally
        {
            using var undo = UndoToken();
            await script.StartDatabaseAsync(undo.Token);
            strike.Undone("started");
        }
    }

    private async Task TerminateSessionsAsync(Strike strike, CancellationToken cancellationToken)
    {
        if (!context.Env.IsPostgreSql)
        {
            strike.Note($"skipped: needs PostgreSQL, this cluster runs on {context.Env.StorageProvider}");
            return;
        }

        IReadOnlyList<string> nodes = context.Env.Nodes;
        if (strike.Fault.Target == FaultSchedule.Primary)
        {
            if (await PrimaryAsync(strike, cancellationToken) is not { } primary)
            {
                return;
            }

            nodes = [primary];
        }

        using var held = await HoldAsync(FaultSchedule.Database, strike, cancellationToken);
        if (held is null)
        {
            return;
        }

        var ended = await faults.TerminateRandomSessionsAsync(nodes, strike.Fault.Value ?? 1, cancellationToken);
        strike.Struck(ended.Count == 0 ? "no session" : string.Join(", ", ended), "pg_terminate_backend");
    }

    private async Task RefuseLoginsAsync(string primary, Strike strike, CancellationToken cancellationToken)
    {
        if (!context.Env.IsPostgreSql)
        {
            strike.Note($"skipped: needs PostgreSQL, this cluster runs on {context.Env.StorageProvider}");
            return;
        }

        using var database = await HoldAsync(FaultSchedule.Database, strike, cancellationToken);
        using var node = database is null ? null : await HoldAsync(primary, strike, cancellationToken);
        if (node is null)
        {
            return;
        }

        var ended = await faults.CutOffAsync(primary, cancellationToken);
        strike.Struck(primary, "role NOLOGIN");
        try
        {
            await Task.Delay(SecondCut, context.Time, cancellationToken);
            ended += await faults.EndSessionsAsync(primary, cancellationToken);
            strike.Note(string.Create(CultureInfo.InvariantCulture, $"{ended} sessions of {primary} ended"));
            await UntilAsync(strike.Fault.End, cancellationToken);
        }
        finally
        {
            using var undo = UndoToken();
            await faults.ReconnectAsync(primary, undo.Token);
            strike.Undone("role LOGIN");
        }
    }

    private async Task LatencyAsync(string worker, Strike strike, CancellationToken cancellationToken)
    {
        var url = Member(worker).Url;
        using var held = await HoldAsync(worker, strike, cancellationToken);
        if (held is null)
        {
            return;
        }

        await faults.SetAsync(url, "latency", strike.Fault.Value, cancellationToken);
        strike.Struck(worker, string.Create(CultureInfo.InvariantCulture, $"{strike.Fault.Value} ms latency"));
        try
        {
            await UntilAsync(strike.Fault.End, cancellationToken);
        }
        finally
        {
            using var undo = UndoToken();
            try
            {
                await faults.SetAsync(url, "clear", null, undo.Token);
                strike.Undone("cleared");
            }
            catch (Exception e) when (e is HttpRequestException or DrillException or OperationCanceledException)
            {
                // A worker that died meanwhile (a crash task) starts again without the fault.
                strike.Note($"clearing the latency failed: {e.Message}");
            }
        }
    }

    private async Task CrashTaskAsync(Strike strike, CancellationToken cancellationToken)
    {
        var maxAttempts = strike.Fault.Value ?? 1;
        var payload = JsonSerializer.SerializeToElement(new JsonObject());
        try
        {
            var task = await client.SubmitAsync("crash", payload, maxAttempts, Guid.NewGuid().ToString("N"), cancellationToken);
            acknowledged(new CheckedTask(task.Id, "crash", "crash", maxAttempts, payload));
            strike.Struck($"task {task.Id}", string.Create(CultureInfo.InvariantCulture, $"submitted, maxAttempts {maxAttempts}"));
        }
        catch (TaskServerException e) when (e.Status == (int)HttpStatusCode.BadRequest)
        {
            strike.Note("skipped: the cluster has no crash task type (a build before CrashHandler, or faults off): " + e.Message);
        }
    }

    /// <summary>Each worker in turn, as a deployment would: SIGTERM, wait for it to exit, start it, wait until it is ready.</summary>
    private async Task RollingRestartAsync(Strike strike, CancellationToken cancellationToken)
    {
        foreach (var worker in context.Env.Members.Where(m => !m.IsGateway))
        {
            using var held = await HoldAsync(worker.Name, strike, cancellationToken);
            if (held is null)
            {
                continue;
            }

            var graceful = await context.Signals.StopAsync(worker.Name, RollingStopGrace, cancellationToken);
            strike.Struck(worker.Name, graceful ? "SIGTERM, exited" : "SIGTERM, still running after 30 s: SIGKILL");
            await StartAgainAsync(worker.Name, strike, cancellationToken);
            await WaitReadyAsync(worker, strike, cancellationToken);
        }
    }

    private async Task WaitReadyAsync(ClusterMember worker, Strike strike, CancellationToken cancellationToken)
    {
        if (!await context.Api.WaitUntilReadyAsync(worker.Url, ReadyWait, context.Time, cancellationToken))
        {
            strike.Note($"{worker.Name} was not ready {ReadyWait.TotalSeconds:0} s after it started; went on with the next");
        }
    }

    private async Task OnPrimaryAsync(Strike strike, Func<string, Task> fault, CancellationToken cancellationToken)
    {
        if (await PrimaryAsync(strike, cancellationToken) is { } primary)
        {
            await fault(primary);
        }
    }

    /// <summary>The gateway primary now (by its node name), waiting briefly through a failover; null, noted, when there is none.</summary>
    private async Task<string?> PrimaryAsync(Strike strike, CancellationToken cancellationToken)
    {
        try
        {
            var (_, view) = await context.Api.WaitForPrimaryAsync(PrimaryWait, cancellationToken);
            return NodeSignals.NameOf(view.Self.Id);
        }
        catch (DrillException e)
        {
            strike.Note($"skipped: no gateway was primary for {PrimaryWait.TotalSeconds:0} s ({e.Message})");
            return null;
        }
    }

    /// <summary>The target's lock, waiting at most until the fault's planned end; null, noted, when another still holds it.</summary>
    private async Task<IDisposable?> HoldAsync(string target, Strike strike, CancellationToken cancellationToken)
    {
        var held = await locks.AcquireAsync(target, TimeSpan.FromSeconds(strike.Fault.End - log.Now), cancellationToken);
        if (held is null)
        {
            strike.Note($"skipped: {target} was still held (another fault, or being started again) until the fault's end");
        }

        return held;
    }

    private async Task StartAgainAsync(string node, Strike strike, CancellationToken cancellationToken)
    {
        try
        {
            await script.RestartAsync(node, cancellationToken);
            strike.Undone("started again");
        }
        catch (DrillException e)
        {
            strike.Note($"{node} did not start again, left to the keeper: {e.Message}");
        }
    }

    private async Task<IReadOnlyList<int>?> TreeAsync(string node, CancellationToken cancellationToken) =>
        await context.Signals.FindPidAsync(node, cancellationToken) is { } pid && await NodeSignals.IsNodeProcessAsync(pid, cancellationToken)
            ? await NodeSignals.TreeAsync(pid, cancellationToken)
            : null;

    private ClusterMember Member(string name) =>
        context.Env.Members.FirstOrDefault(m => m.Name == name) ?? throw new DrillException($"{context.Env.Source} lists no node '{name}'.");

    private Task UntilAsync(double seconds, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromSeconds(seconds - log.Now);
        return wait > TimeSpan.Zero ? Task.Delay(wait, context.Time, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>
    /// For undoing a strike: a deadline of its own rather than the run's token, so that a run cut short (SIGINT) still
    /// gives the database its start, the role its logins and the worker its normal speed back.
    /// </summary>
    private static CancellationTokenSource UndoToken() => new(UndoTimeout);

    /// <summary>How one fault went, filled in as it runs.</summary>
    private sealed class Strike(PlannedFault fault, ChaosLog log)
    {
        private readonly List<string> notes = [];
        private readonly List<string> struck = [];
        private double? struckAt;
        private double? undoneAt;

        public PlannedFault Fault => fault;

        public void Struck(string what, string how)
        {
            struckAt ??= log.Now;
            struck.Add(what);
            log.Add($"{Describe()}: {what}: {how}");
        }

        public void Undone(string how)
        {
            undoneAt = log.Now;
            log.Add($"{Describe()} undone: {how}");
        }

        public void Note(string note)
        {
            notes.Add(note);
            log.Add($"{Describe()}: {note}");
        }

        public ChaosFault ToFault() =>
            new(fault.Kind, fault.Target, fault.Start, fault.End, fault.Value, struck.Count == 0 ? null : string.Join("; ", struck), struckAt, undoneAt, notes);

        private string Describe() => $"{fault.Kind.Name()} {fault.Target}";
    }
}
