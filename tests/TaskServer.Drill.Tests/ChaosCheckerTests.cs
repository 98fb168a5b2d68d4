using System.Text.Json;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Chaos;
using TaskServer.Drill.Load;

namespace TaskServer.Drill.Tests;

/// <summary>The checker on synthetic runs: a clean task passes, and each count catches the task built to fail it.</summary>
public sealed class ChaosCheckerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Deadline = T0.AddMinutes(5);

    [Fact]
    public void Tasks_that_ran_by_the_rules_are_not_counted()
    {
        var echo = Task("echo", """{"a":[1,"x",null]}""", maxAttempts: 2);
        var hash = Task("hash", """{"data":"abc","rounds":2}""", maxAttempts: 1);
        var callback = Task("callback", """{"url":"http://127.0.0.1:9/"}""", maxAttempts: 3);
        var reads = new Dictionary<Guid, IReadOnlyList<TaskRead>>
        {
            [echo.Id] = [Read(0, "Queued", 1), Read(1, "Running", 1, started: 1), Read(2, "Running", 2, started: 2), Read(3, "Succeeded", 2, started: 2, finished: 3, result: """{"a":[1,"x",null]}""")],
            [hash.Id] = [Read(1, "Succeeded", 1, started: 0, finished: 1, result: $$"""{"sha256":"{{ExpectedResults.Hash("abc", 2)}}","rounds":2}""")],

            // Attempt 1 called back and was requeued (its worker died), attempt 2 called back and succeeded: a repeat, not a stale one.
            [callback.Id] = [Read(1, "Running", 1, started: 0.5), Read(4, "Running", 2, started: 3), Read(5, "Succeeded", 2, started: 3, finished: 4.5)],
        };
        var calls = new Dictionary<Guid, IReadOnlyList<CallbackCall>> { [callback.Id] = [Call(1, 0.6), Call(2, 3.5)] };

        var result = ChaosChecker.Check([echo, hash, callback], reads, calls, Deadline);

        Assert.True(result.Counts.AllZero, string.Join("\n", result.Violations.Select(v => $"{v.Kind}: {v.Detail}")));
        Assert.Empty(result.Violations);
    }

    [Fact]
    public void A_task_never_final_by_the_deadline_is_lost_and_so_is_one_never_found_but_not_one_read_late_that_had_finished()
    {
        var stuck = Task("sleep", """{"ms":10}""");
        var missing = Task("echo", "1");
        var late = Task("sleep", """{"ms":10}""");

        // First read long after the deadline, by a starved observer, of a task that had finished well before it.
        var readLate = Task("echo", "1");
        var reads = new Dictionary<Guid, IReadOnlyList<TaskRead>>
        {
            [stuck.Id] = [Read(1, "Queued", 1), Read(2, "Running", 1, started: 2)],
            [late.Id] = [Read(1, "Running", 1, started: 1), Read(400, "Succeeded", 1, started: 1, finished: 399)],
            [readLate.Id] = [Read(400, "Succeeded", 1, started: 1, finished: 2, result: "1")],
        };

        var result = ChaosChecker.Check([stuck, missing, late, readLate], reads, Empty, Deadline);

        Assert.Equal(3, result.Counts.Lost);
        Assert.Equal(3, result.Violations.Count);
        var violation = result.Violations.Single(v => v.TaskId == stuck.Id);
        Assert.Equal(ViolationKind.Lost, violation.Kind);
        Assert.Equal(2, violation.History.Count);
        Assert.Contains("last seen Running at attempt 1", violation.Detail, StringComparison.Ordinal);
        Assert.Contains("never found", result.Violations.Single(v => v.TaskId == missing.Id).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_attempt_past_the_maximum_is_counted_from_reads_or_from_callbacks()
    {
        var requeued = Task("sleep", """{"ms":10}""", maxAttempts: 1);
        var calledTooOften = Task("callback", """{"url":"http://127.0.0.1:9/"}""", maxAttempts: 2);
        var calledTooLate = Task("callback", """{"url":"http://127.0.0.1:9/"}""", maxAttempts: 1);
        var reads = new Dictionary<Guid, IReadOnlyList<TaskRead>>
        {
            [requeued.Id] = [Read(1, "Running", 1, max: 1, started: 1), Read(3, "Queued", 2, max: 1), Read(4, "Succeeded", 2, max: 1, started: 3.5, finished: 4)],
            [calledTooOften.Id] = [Read(9, "Succeeded", 2, max: 2, started: 8, finished: 9)],
            [calledTooLate.Id] = [Read(9, "Failed", 1, max: 1, started: 1, finished: 9)],
        };
        var calls = new Dictionary<Guid, IReadOnlyList<CallbackCall>>
        {
            [calledTooOften.Id] = [Call(1, 1), Call(3, 2), Call(2, 8.5)],
            [calledTooLate.Id] = [Call(2, 5)],
        };

        var result = ChaosChecker.Check([requeued, calledTooOften, calledTooLate], reads, calls, Deadline);

        Assert.Equal(3, result.Counts.AttemptsOverMax);
        Assert.Contains("Queued at attempt 2 of 1", Detail(result, requeued, ViolationKind.AttemptsOverMax), StringComparison.Ordinal);
        Assert.Contains("attempt 3 called back", Detail(result, calledTooOften, ViolationKind.AttemptsOverMax), StringComparison.Ordinal);
        Assert.Contains("attempt 2 called back", Detail(result, calledTooLate, ViolationKind.AttemptsOverMax), StringComparison.Ordinal);
    }

    [Fact]
    public void A_status_going_backwards_or_an_attempt_going_down_is_counted()
    {
        var reopened = Task("echo", "1");
        var undone = Task("echo", "1");
        var fromQueuedToDone = Task("echo", "1");
        var reads = new Dictionary<Guid, IReadOnlyList<TaskRead>>
        {
            [reopened.Id] = [Read(1, "Succeeded", 1, started: 0.5, finished: 1, result: "1"), Read(2, "Running", 2, started: 1.5), Read(3, "Succeeded", 2, started: 1.5, finished: 3, result: "1")],
            [undone.Id] = [Read(1, "Running", 3, started: 1), Read(2, "Running", 2, started: 1.5), Read(3, "Succeeded", 2, started: 1.5, finished: 3, result: "1")],

            // Reads may miss the states between: Queued then Succeeded is a run seen at its two ends, not a violation.
            [fromQueuedToDone.Id] = [Read(1, "Queued", 1), Read(2, "Succeeded", 1, started: 1.2, finished: 1.3, result: "1")],
        };

        var result = ChaosChecker.Check([reopened, undone, fromQueuedToDone], reads, Empty, Deadline);

        Assert.Equal(2, result.Counts.BackwardsStatuses);
        Assert.Contains("a final task changed: Succeeded at attempt 1", Detail(result, reopened, ViolationKind.BackwardsStatus), StringComparison.Ordinal);
        Assert.Contains("the attempt went down", Detail(result, undone, ViolationKind.BackwardsStatus), StringComparison.Ordinal);
        Assert.DoesNotContain(result.Violations, v => v.TaskId == fromQueuedToDone.Id);
    }

    [Fact]
    public void An_echo_that_is_not_its_payload_or_a_hash_not_computed_here_is_a_wrong_result()
    {
        var echo = Task("echo", """{"n":1,"s":"x"}""");
        var hash = Task("hash", """{"data":"abc","rounds":3}""");
        var rightHash = Task("hash", """{"data":"abc"}""");
        var failedEcho = Task("echo", """{"n":1}""");
        var reads = new Dictionary<Guid, IReadOnlyList<TaskRead>>
        {
            [echo.Id] = [Read(1, "Succeeded", 1, started: 0.5, finished: 1, result: """[{"n":1,"s":"x"}]""")],
            [hash.Id] = [Read(1, "Succeeded", 1, started: 0.5, finished: 1, result: $$"""{"sha256":"{{ExpectedResults.Hash("abc", 2)}}","rounds":3}""")],
            [rightHash.Id] = [Read(1, "Succeeded", 1, started: 0.5, finished: 1, result: $$"""{"sha256":"{{ExpectedResults.Hash("abc", 1)}}","rounds":1}""")],
            [failedEcho.Id] = [Read(1, "Failed", 1, started: 0.5, finished: 1)],
        };

        var result = ChaosChecker.Check([echo, hash, rightHash, failedEcho], reads, Empty, Deadline);

        Assert.Equal(2, result.Counts.WrongResults);
        Assert.Contains("not the payload sent", Detail(result, echo, ViolationKind.WrongResult), StringComparison.Ordinal);
        Assert.Contains(ExpectedResults.Hash("abc", 3), Detail(result, hash, ViolationKind.WrongResult), StringComparison.Ordinal);
    }

    [Fact]
    public void A_callback_from_an_attempt_that_had_been_superseded_or_had_finished_is_a_stale_side_effect()
    {
        var afterLaterCallback = Task("callback", "{}", maxAttempts: 3);
        var afterLaterClaim = Task("callback", "{}", maxAttempts: 3);
        var afterLaterRead = Task("callback", "{}", maxAttempts: 3);
        var afterFinish = Task("callback", "{}", maxAttempts: 1);
        var reads = new Dictionary<Guid, IReadOnlyList<TaskRead>>
        {
            [afterLaterCallback.Id] = [Read(9, "Succeeded", 2, started: 3, finished: 3.5)],

            // Read only after the callback, but attempt 2 had been claimed (startedAt) before attempt 1's callback landed.
            [afterLaterClaim.Id] = [Read(9, "Succeeded", 2, started: 3, finished: 8)],

            // Attempt 2 was already queued (attempt 1 over) when a read saw it, before attempt 1's callback landed.
            [afterLaterRead.Id] = [Read(2, "Queued", 2), Read(9, "Failed", 2, started: 8, finished: 8.5)],

            // The task had ended (its attempt given up as lost) when that attempt's side effect landed.
            [afterFinish.Id] = [Read(9, "Failed", 1, max: 1, started: 1, finished: 4)],
        };
        var calls = new Dictionary<Guid, IReadOnlyList<CallbackCall>>
        {
            [afterLaterCallback.Id] = [Call(2, 3.2), Call(1, 3.3)],
            [afterLaterClaim.Id] = [Call(1, 5)],
            [afterLaterRead.Id] = [Call(1, 2.5)],
            [afterFinish.Id] = [Call(1, 4.2)],
        };

        var result = ChaosChecker.Check([afterLaterCallback, afterLaterClaim, afterLaterRead, afterFinish], reads, calls, Deadline);

        Assert.Equal(4, result.Counts.StaleSideEffects);
        Assert.Contains("after attempt 2 had at", Detail(result, afterLaterCallback, ViolationKind.StaleSideEffect), StringComparison.Ordinal);
        Assert.Contains("after attempt 2 had begun", Detail(result, afterLaterClaim, ViolationKind.StaleSideEffect), StringComparison.Ordinal);
        Assert.Contains("read Queued", Detail(result, afterLaterRead, ViolationKind.StaleSideEffect), StringComparison.Ordinal);
        Assert.Contains("after the task ended Failed", Detail(result, afterFinish, ViolationKind.StaleSideEffect), StringComparison.Ordinal);
        Assert.All(result.Violations, v => Assert.NotEmpty(v.Callbacks));
    }

    [Fact]
    public void A_callback_that_landed_before_its_attempt_ended_is_not_stale_whenever_it_is_read()
    {
        // The reads came late (after attempt 2 began), but attempt 1's callback landed before attempt 2 was claimed.
        var task = Task("callback", "{}", maxAttempts: 2);
        var reads = new Dictionary<Guid, IReadOnlyList<TaskRead>> { [task.Id] = [Read(20, "Succeeded", 2, started: 10, finished: 11)] };
        var calls = new Dictionary<Guid, IReadOnlyList<CallbackCall>> { [task.Id] = [Call(1, 2), Call(2, 10.5)] };

        Assert.True(ChaosChecker.Check([task], reads, calls, Deadline).Counts.AllZero);
    }

    [Fact]
    public void A_status_this_build_does_not_know_is_not_judged_against_the_table()
    {
        var task = Task("sleep", """{"ms":10}""");
        var reads = new Dictionary<Guid, IReadOnlyList<TaskRead>> { [task.Id] = [Read(1, "Running", 1, started: 1), Read(2, "TimedOut", 1), Read(3, "Succeeded", 2, started: 2.5, finished: 3)] };

        Assert.True(ChaosChecker.Check([task], reads, Empty, Deadline).Counts.AllZero);
    }

    private static readonly IReadOnlyDictionary<Guid, IReadOnlyList<CallbackCall>> Empty = new Dictionary<Guid, IReadOnlyList<CallbackCall>>();

    private static CheckedTask Task(string type, string payload, int maxAttempts = 3) =>
        new(Guid.CreateVersion7(), type, type, maxAttempts, JsonDocument.Parse(payload).RootElement.Clone());

    private static TaskRead Read(double at, string status, int attempt, int max = 3, double? started = null, double? finished = null, string? result = null) =>
        new(T0.AddSeconds(at), result is null ? TaskRead.ViaList : TaskRead.ViaGet, status, attempt, max, "w1-abc", Seconds(started), Seconds(finished), null)
        {
            Result = result is null ? null : JsonDocument.Parse(result).RootElement.Clone(),
        };

    private static CallbackCall Call(int attempt, double at) => new(attempt, T0.AddSeconds(at));

    private static DateTimeOffset? Seconds(double? at) => at is { } s ? T0.AddSeconds(s) : null;

    private static string Detail(CheckResult result, CheckedTask task, ViolationKind kind) =>
        result.Violations.Single(v => v.TaskId == task.Id && v.Kind == kind).Detail;
}
