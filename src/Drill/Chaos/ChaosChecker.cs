using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Load;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Drill.Chaos;

/// <summary>An acknowledged task of the run: what was asked (its kind, type, maxAttempts, payload) and what it must answer to.</summary>
internal sealed record CheckedTask(Guid Id, string Kind, string Type, int MaxAttempts, JsonElement Payload);

/// <summary>What the checker can find wrong with a task.</summary>
internal enum ViolationKind
{
    Lost,
    AttemptsOverMax,
    StaleSideEffect,
    BackwardsStatus,
    WrongResult,
}

/// <summary>One task found wrong one way, with everything the checker saw of it.</summary>
/// <param name="TaskKind">The load's kind of the task ("echo", "hang", "crash", ...).</param>
/// <param name="History">Each change the reads through the gateways saw, in order.</param>
/// <param name="Callbacks">The side effects the sink received from it, in order of arrival.</param>
internal sealed record Violation(
    Guid TaskId,
    ViolationKind Kind,
    string TaskKind,
    int MaxAttempts,
    string Detail,
    IReadOnlyList<TaskRead> History,
    IReadOnlyList<CallbackCall> Callbacks);

/// <summary>Tasks found wrong, by kind; a task counts once per kind whatever the number of its faults of that kind.</summary>
internal sealed record ChaosCounts(int Lost, int AttemptsOverMax, int StaleSideEffects, int BackwardsStatuses, int WrongResults)
{
    public bool AllZero => Lost + AttemptsOverMax + StaleSideEffects + BackwardsStatuses + WrongResults == 0;
}

internal sealed record CheckResult(ChaosCounts Counts, IReadOnlyList<Violation> Violations);

/// <summary>
/// Judges every acknowledged task from its reads and its side effects alone (no network, so it is tested on synthetic
/// runs). Timestamps from the nodes and the database (startedAt, finishedAt) are compared with the drill's own (a read's
/// answer, a callback's arrival): the workers call a loopback sink, so all of them share this machine's clock.
/// </summary>
internal static class ChaosChecker
{
    /// <summary>Where each state can lead in one move or more, by the server's own table of moves.</summary>
    private static readonly FrozenDictionary<TaskState, FrozenSet<TaskState>> Reachable = Closure(TaskStateMachine.AllowedMoves);

    /// <param name="deadline">The end of the wait for final states: a task no read had seen final by then is lost.</param>
    public static CheckResult Check(
        IReadOnlyCollection<CheckedTask> tasks,
        IReadOnlyDictionary<Guid, IReadOnlyList<TaskRead>> reads,
        IReadOnlyDictionary<Guid, IReadOnlyList<CallbackCall>> callbacks,
        DateTimeOffset deadline)
    {
        var violations = new List<Violation>();
        foreach (var task in tasks)
        {
            var history = reads.GetValueOrDefault(task.Id) ?? [];
            var calls = callbacks.GetValueOrDefault(task.Id) ?? [];
            var max = history.Count > 0 ? history[0].MaxAttempts : task.MaxAttempts;
            (ViolationKind, string?)[] findings =
            [
                (ViolationKind.Lost, Lost(history, deadline)),
                (ViolationKind.AttemptsOverMax, OverMax(history, calls, max)),
                (ViolationKind.StaleSideEffect, Stale(history, calls)),
                (ViolationKind.BackwardsStatus, Backwards(history)),
                (ViolationKind.WrongResult, WrongResult(task, history)),
            ];
            violations.AddRange(findings
                .Where(f => f.Item2 is not null)
                .Select(f => new Violation(task.Id, f.Item1, task.Kind, max, f.Item2!, history, calls)));
        }

        int Count(ViolationKind kind) => violations.Count(v => v.Kind == kind);
        return new CheckResult(
            new ChaosCounts(Count(ViolationKind.Lost), Count(ViolationKind.AttemptsOverMax), Count(ViolationKind.StaleSideEffect), Count(ViolationKind.BackwardsStatus), Count(ViolationKind.WrongResult)),
            violations);
    }

    /// <summary>
    /// Acknowledged, and not shown final by the deadline: no read up to it saw the task final, and no later read says
    /// it finished before it (the server's <c>finishedAt</c>; a starved observer may reach a task long after it ended).
    /// </summary>
    private static string? Lost(IReadOnlyList<TaskRead> history, DateTimeOffset deadline)
    {
        if (history.Any(r => r.IsFinal && (r.At <= deadline || r.FinishedAt <= deadline)))
        {
            return null;
        }

        return history.Count == 0
            ? "acknowledged, and never found by GET /tasks/{id}"
            : Text($"not final by {deadline:O}: last seen {history[^1].Status} at attempt {history[^1].Attempt} ({history[^1].At:O})");
    }

    /// <summary>An attempt past the maximum: read from the task, or called back by more attempts (or a later one) than it may have.</summary>
    private static string? OverMax(IReadOnlyList<TaskRead> history, IReadOnlyList<CallbackCall> calls, int max)
    {
        if (history.FirstOrDefault(r => r.Attempt > r.MaxAttempts) is { } read)
        {
            return Text($"seen {read.Status} at attempt {read.Attempt} of {read.MaxAttempts} ({read.At:O})");
        }

        if (calls.FirstOrDefault(c => c.Attempt > max) is { } call)
        {
            return Text($"attempt {call.Attempt} called back ({call.At:O}); maxAttempts is {max}");
        }

        var attempts = calls.Select(c => c.Attempt).Distinct().Count();
        return attempts > max ? Text($"{attempts} different attempts called back; maxAttempts is {max}") : null;
    }

    /// <summary>
    /// A side effect of an attempt that was no longer the task's current one when it landed. Only what can be proven
    /// counts, so this is a lower bound (the closer the reads, the tighter): attempt a's callback is stale when, before
    /// it landed, a later attempt b had called back, or a read had shown attempt b, or attempt b had been claimed (its
    /// startedAt: attempts only rise when the current one ends, so a had ended by then), or the task had finished
    /// (finishedAt: a handler that returns after its callback is answered always calls back before its outcome is written).
    /// </summary>
    private static string? Stale(IReadOnlyList<TaskRead> history, IReadOnlyList<CallbackCall> calls)
    {
        var stale = new List<string>();
        foreach (var call in calls)
        {
            if (calls.FirstOrDefault(other => other.Attempt > call.Attempt && other.At < call.At) is { } later)
            {
                stale.Add(Text($"attempt {call.Attempt} called back at {call.At:O}, after attempt {later.Attempt} had at {later.At:O}"));
            }
            else if (history.FirstOrDefault(r => r.Attempt > call.Attempt && (r.At < call.At || (r.State != TaskState.Queued && r.StartedAt < call.At))) is { } newer)
            {
                stale.Add(Text($"attempt {call.Attempt} called back at {call.At:O}, after attempt {newer.Attempt} had begun (read {newer.Status} at {newer.At:O}, started {newer.StartedAt:O})"));
            }
            else if (history.FirstOrDefault(r => r.IsFinal && r.FinishedAt < call.At) is { } finished)
            {
                stale.Add(Text($"attempt {call.Attempt} called back at {call.At:O}, after the task ended {finished.Status} at {finished.FinishedAt:O}"));
            }
        }

        return stale.Count == 0 ? null : string.Join("; ", stale);
    }

    /// <summary>Between two reads in a row: the attempt number fell, a final task changed, or a move no transition makes.</summary>
    private static string? Backwards(IReadOnlyList<TaskRead> history)
    {
        for (var i = 1; i < history.Count; i++)
        {
            var (before, after) = (history[i - 1], history[i]);
            var moved = Text($"{before.Status} at attempt {before.Attempt} ({before.At:O}), then {after.Status} at attempt {after.Attempt} ({after.At:O})");
            if (after.Attempt < before.Attempt)
            {
                return "the attempt went down: " + moved;
            }

            // A status this build does not know cannot be judged against the table.
            if (before.State is not { } from || after.State is not { } to)
            {
                continue;
            }

            if (from.IsFinal() && (to != from || after.Attempt != before.Attempt))
            {
                return "a final task changed: " + moved;
            }

            if (to != from && !Reachable[from].Contains(to))
            {
                return "no transition leads there: " + moved;
            }
        }

        return null;
    }

    /// <summary>A Succeeded echo whose result is not the payload sent, or a hash not the one computed here.</summary>
    private static string? WrongResult(CheckedTask task, IReadOnlyList<TaskRead> history)
    {
        if (history.FirstOrDefault(r => r.State == TaskState.Succeeded && r.Via == TaskRead.ViaGet) is not { } done)
        {
            return null;
        }

        return task.Type switch
        {
            "echo" when !ExpectedResults.EchoMatches(task.Payload, done.Result) =>
                $"echo answered {Json(done.Result)}, not the payload sent, {Json(task.Payload)}",
            "hash" when !ExpectedResults.HashMatches(task.Payload, done.Result) =>
                $"hash answered {Json(done.Result)}; SHA-256 of the payload is {ExpectedResults.Hash(task.Payload.GetProperty("data").GetString()!, task.Payload.TryGetProperty("rounds", out var rounds) ? rounds.GetInt32() : 1)}",
            _ => null,
        };
    }

    private static FrozenDictionary<TaskState, FrozenSet<TaskState>> Closure(IReadOnlySet<(TaskState From, TaskState To)> moves)
    {
        var reachable = Enum.GetValues<TaskState>().ToDictionary(s => s, s => moves.Where(m => m.From == s).Select(m => m.To).ToHashSet());
        var grew = true;
        while (grew)
        {
            grew = false;
            foreach (var next in reachable.Values)
            {
                foreach (var further in next.ToList().SelectMany(s => reachable[s]))
                {
                    grew |= next.Add(further);
                }
            }
        }

        return reachable.ToFrozenDictionary(r => r.Key, r => r.Value.ToFrozenSet());
    }

    private static string Json(JsonElement? value)
    {
        var text = value is { } element ? element.GetRawText() : "nothing";
        return text.Length <= 200 ? text : text[..200] + "...";
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
