using System.Collections.Concurrent;
using TaskServer.Client;

namespace TaskServer.Drill.Load;

/// <summary>Polls acknowledged tasks until every one is final or the deadline passes; what is left is lost.</summary>
internal sealed class Drainer(TaskServerClient client)
{
    private static readonly TimeSpan Round = TimeSpan.FromMilliseconds(500);

    /// <summary>The last state seen of every task (final or not); a task never found is absent.</summary>
    public async Task<IReadOnlyDictionary<Guid, TaskInfo>> DrainAsync(IEnumerable<Guid> ids, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var seen = new ConcurrentDictionary<Guid, TaskInfo>();
        var pending = ids.Distinct().ToList();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        try
        {
            while (pending.Count > 0)
            {
                await Parallel.ForEachAsync(
                    pending,
                    new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = timeout.Token },
                    async (id, token) =>
                    {
                        try
                        {
                            if (await client.GetAsync(id, token) is { } task)
                            {
                                seen[id] = task;
                            }
                        }
                        catch (TaskServerException)
                        {
                            // No gateway answered even after the client's retries: asked again next round.
                        }
                    });
                pending = [.. pending.Where(id => !(seen.TryGetValue(id, out var task) && task.IsFinal))];
                if (pending.Count > 0)
                {
                    await Task.Delay(Round, timeout.Token);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The deadline passed: the tasks still pending are reported as lost.
        }

        return seen;
    }
}
