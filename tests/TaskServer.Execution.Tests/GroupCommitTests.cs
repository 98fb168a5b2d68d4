using TaskServer.Testing;

namespace TaskServer.Execution.Tests;

public sealed class GroupCommitTests
{
    [Fact]
    public async Task A_set_that_fails_on_one_item_is_split_so_only_that_items_caller_fails()
    {
        var sets = new List<int>();
        await using var commits = new GroupCommit<int, int>(
            (set, _) =>
            {
                lock (sets)
                {
                    sets.Add(set.Count);
                }

                return set.Contains(13) ? throw new ArgumentException("13 is refused") : Task.FromResult<IReadOnlyList<int>>([.. set.Select(i => i * 2)]);
            },
            exception => exception is ArgumentException,
            maxSetSize: 64,
            maxWaiting: 64,
            CancellationToken.None);

        var writes = Enumerable.Range(10, 5).Select(i => commits.WriteAsync(i)).ToList();
        await Task.WhenAll(writes.Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default)));

        Assert.IsType<ArgumentException>(writes[3].Exception?.InnerException);
        int[] results = [await writes[0], await writes[1], await writes[2], await writes[4]];
        Assert.Equal([20, 22, 24, 28], results);
    }

    [Fact]
    public async Task A_set_that_fails_with_an_outage_fails_whole_without_writing_items_one_by_one()
    {
        var calls = 0;
        var gate = new TaskCompletionSource();
        await using var commits = new GroupCommit<int, int>(
            async (set, _) =>
            {
                Interlocked.Increment(ref calls);
                await gate.Task;
                throw new TimeoutException("out of reach");
            },
            exception => exception is not TimeoutException,
            maxSetSize: 64,
            maxWaiting: 64,
            CancellationToken.None);

        var first = commits.WriteAsync(1, TestContext.Current.CancellationToken);
        var rest = Enumerable.Range(2, 4).Select(i => commits.WriteAsync(i)).ToList();
        gate.SetResult();

        await Assert.ThrowsAsync<TimeoutException>(() => first);
        foreach (var write in rest)
        {
            await Assert.ThrowsAsync<TimeoutException>(() => write);
        }

        // One set, or two when the first write was taken before the rest queued; split, it would be one call per item.
        Assert.InRange(calls, 1, 2);
    }

    [Fact]
    public async Task Beyond_the_most_waiting_items_a_write_is_refused_at_once()
    {
        var gate = new TaskCompletionSource();
        var taken = 0;
        await using var commits = new GroupCommit<int, int>(
            async (set, _) =>
            {
                Interlocked.Increment(ref taken);
                await gate.Task;
                return [.. set];
            },
            _ => true,
            maxSetSize: 1,
            maxWaiting: 2,
            CancellationToken.None);

        // The first write is taken by the loop and held at the gate; two more fill the waiting room.
        var inFlight = commits.WriteAsync(0, TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref taken) == 1), TimeSpan.FromSeconds(5), "the first set to be taken");
        var waiting = new[] { commits.WriteAsync(1, TestContext.Current.CancellationToken), commits.WriteAsync(2, TestContext.Current.CancellationToken) };
        var refused = commits.WriteAsync(3, TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<GroupCommitFullException>(() => refused);
        gate.SetResult();
        Assert.Equal(0, await inFlight);
        int[] stored = await Task.WhenAll(waiting);
        Assert.Equal([1, 2], stored);
    }

    [Fact]
    public async Task An_item_whose_caller_went_away_before_its_set_was_taken_is_not_written()
    {
        var gate = new TaskCompletionSource();
        var written = new List<int>();
        await using var commits = new GroupCommit<int, int>(
            async (set, _) =>
            {
                await gate.Task;
                lock (written)
                {
                    written.AddRange(set);
                }

                return [.. set];
            },
            _ => true,
            maxSetSize: 1,
            maxWaiting: 8,
            CancellationToken.None);
        using var caller = new CancellationTokenSource();

        var inFlight = commits.WriteAsync(1, TestContext.Current.CancellationToken);
        var abandoned = commits.WriteAsync(2, caller.Token);
        var kept = commits.WriteAsync(3, TestContext.Current.CancellationToken);
        await caller.CancelAsync();
        gate.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(3, await kept);
        Assert.Equal(1, await inFlight);
        Assert.DoesNotContain(2, written);
    }
}
