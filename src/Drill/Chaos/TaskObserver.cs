using System.Collections.Concurrent;
using TaskServer.Client;

namespace TaskServer.Drill.Chaos;

/// <summary>
/// Reads every acknowledged task through the gateways, round after round, from its acknowledgement until it is seen
/// final, and keeps each change it saw (status, attempt, worker, times): the history the checker judges. Reads made
/// while the faults strike are what can catch a task moving backwards or an attempt past its maximum before a later
/// write hides it; one last pass over every task by pages of GET /tasks catches a finished task that moved on.
/// </summary>
internal sealed class TaskObserver(TaskServerClient client, TimeProvider time)
{
    private const int Parallelism = 8;
    private const int PageSize = 500;
    private const int PageTries = 10;
    private static readonly TimeSpan Round = TimeSpan.FromSeconds(1);

    // Ids are version 7 GUIDs and pages come newest first: once a page is this far older than the first task
    // tracked, the rest of the table is other runs' tasks.
    private static readonly TimeSpan PageSlack = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<Guid, List<TaskRead>> reads = new();
    private readonly ConcurrentQueue<Guid> arrivals = new();
    private readonly HashSet<Guid> pending = [];
    private readonly Lock created = new();
    private DateTimeOffset? firstCreated;
    private int pendingAfterRound;

    /// <summary>Tasks acknowledged and not seen final yet, as of the last round.</summary>
    public int Pending => Volatile.Read(ref pendingAfterRound);

    /// <summary>Follows a task from now on (thread-safe: the load calls it as acknowledgements come).</summary>
    public void Track(Guid id)
    {
        if (reads.TryAdd(id, []))
        {
            arrivals.Enqueue(id);
        }
    }

    /// <summary>Rounds of reads every second until <paramref name="stop"/> is cancelled.</summary>
    public async Task FollowAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await RoundAsync(stop);
                await Task.Delay(Round, time, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped: the checker's rounds take over.
        }
    }

    /// <summary>Rounds until every tracked task is final or <paramref name="deadline"/> has passed; true when all are.</summary>
    /// <remarks>The deadline cuts a round short too: with no gateway answering, one read alone retries for a minute.</remarks>
    public async Task<bool> SettleAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        using var until = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        until.CancelAfter(deadline);
        try
        {
            while (true)
            {
                await RoundAsync(until.Token);
                if (Pending == 0 && arrivals.IsEmpty)
                {
                    return true;
                }

                await Task.Delay(Round, time, until.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// One more read of every tracked task, newest first by pages of GET /tasks, until all were seen; false when no
    /// gateway answered a page (the reads so far stand).
    /// </summary>
    public async Task<bool> ConfirmAsync(CancellationToken cancellationToken)
    {
        var unseen = reads.Keys.ToHashSet();
        DateTimeOffset? oldest;
        lock (created)
        {
            oldest = firstCreated;
        }

        Guid? after = null;
        while (unseen.Count > 0)
        {
            if (await PageAsync(after, cancellationToken) is not { } page)
            {
                return false;
            }

            var at = time.GetUtcNow();
            foreach (var task in page.Items)
            {
                if (unseen.Remove(task.Id))
                {
                    Record(task.Id, TaskRead.Of(task, TaskRead.ViaList, at));
                }
            }

            if (page.Next is not { } next || page.Items.Count == 0 || page.Items[^1].CreatedAt < oldest - PageSlack)
            {
                return true;
            }

            after = next;
        }

        return true;
    }

    /// <summary>
    /// One page of GET /tasks, asked again after a failure: the last pass is the only read some tasks get when the
    /// rounds fell behind, so one unanswered page must not end it. Null when no gateway answered any try.
    /// </summary>
    private async Task<TaskPage?> PageAsync(Guid? after, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await client.ListAsync(limit: PageSize, after: after, cancellationToken: cancellationToken);
            }
            catch (TaskServerException) when (attempt < PageTries)
            {
                await Task.Delay(Round, time, cancellationToken);
            }
            catch (TaskServerException)
            {
                return null;
            }
        }
    }

    /// <summary>Every tracked task's history: each change its reads saw, in order (empty for a task never found).</summary>
    public IReadOnlyDictionary<Guid, IReadOnlyList<TaskRead>> Reads() =>
        reads.ToDictionary(r => r.Key, r =>
        {
            lock (r.Value)
            {
                return (IReadOnlyList<TaskRead>)[.. r.Value];
            }
        });

    private async Task RoundAsync(CancellationToken cancellationToken)
    {
        while (arrivals.TryDequeue(out var id))
        {
            pending.Add(id);
        }

        await Parallel.ForEachAsync(
            pending.ToList(),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (id, token) =>
            {
                try
                {
                    // A task the store does not know (404) stays pending: lost, unless a later read finds it.
                    if (await client.GetAsync(id, token) is { } task)
                    {
                        Record(id, TaskRead.Of(task, TaskRead.ViaGet, time.GetUtcNow()));
                        lock (created)
                        {
                            firstCreated = firstCreated is { } first && first < task.CreatedAt ? first : task.CreatedAt;
                        }
                    }
                }
                catch (TaskServerException)
                {
                    // No gateway answered, even after the client's retries: asked again next round.
                }
            });
        pending.RemoveWhere(SeenFinal);
        Volatile.Write(ref pendingAfterRound, pending.Count);
    }

    private void Record(Guid id, TaskRead read)
    {
        var history = reads[id];
        lock (history)
        {
            if (history.Count == 0 || !history[^1].SameStateAs(read))
            {
                history.Add(read);
            }
        }
    }

    private bool SeenFinal(Guid id)
    {
        var history = reads[id];
        lock (history)
        {
            return history.Count > 0 && history[^1].IsFinal;
        }
    }
}
