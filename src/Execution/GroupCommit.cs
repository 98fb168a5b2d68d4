using System.Threading.Channels;

namespace TaskServer.Execution;

/// <summary>
/// Many callers' writes in one database write and one commit. Each caller waits for its own result; one loop takes
/// whatever has queued up and writes it as a set. Nothing waits for a window to fill: when idle a write goes out at
/// once, and under load the sets grow by themselves while the previous write is in flight. A set that fails with an
/// error one item can cause (a data error) is split and each item written alone, so one bad item fails only its own
/// caller; an outage fails the whole set at once, since writing its items one by one would only wait N times as long.
/// What waits is bounded (<see cref="GroupCommitFullException"/> beyond it, at once), and an item whose caller has
/// gone away before its set was taken is dropped, not written for nobody.
/// </summary>
/// <remarks>The loop runs until <c>ApplicationStopped</c>, past the stopping phase: writes made while the host shuts down still land.</remarks>
public sealed class GroupCommit<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<Pending> pending;
    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> write;
    private readonly Func<Exception, bool> isItemError;
    private readonly int maxSetSize;
    private readonly Task loop;

    /// <param name="isItemError">Whether a failed set's error may come from one of its items (then the set is split).</param>
    /// <param name="maxWaiting">How many items may wait for their set; more are refused at once.</param>
    public GroupCommit(
        Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> write,
        Func<Exception, bool> isItemError,
        int maxSetSize,
        int maxWaiting,
        CancellationToken stopped)
    {
        pending = Channel.CreateBounded<Pending>(new BoundedChannelOptions(maxWaiting) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        this.write = write;
        this.isItemError = isItemError;
        this.maxSetSize = maxSetSize;
        loop = Task.Run(() => RunAsync(stopped), CancellationToken.None);
    }

    /// <summary>
    /// Completes when the set holding <paramref name="item"/> is committed (with its result) or failed (with the error);
    /// cancelled when <paramref name="abandoned"/> fired before its set was taken (nothing was written). Fails at once
    /// with <see cref="GroupCommitFullException"/> when the most items are already waiting.
    /// </summary>
    public Task<TResult> WriteAsync(TItem item, CancellationToken abandoned = default)
    {
        var completion = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!pending.Writer.TryWrite(new Pending(item, completion, abandoned)))
        {
            completion.SetException(pending.Reader.Completion.IsCompleted
                ? new ObjectDisposedException(nameof(GroupCommit<TItem, TResult>), "The host is stopped.")
                : new GroupCommitFullException());
        }

        return completion.Task;
    }

    public async ValueTask DisposeAsync()
    {
        pending.Writer.TryComplete();
        await loop.ConfigureAwait(false);
    }

    private async Task RunAsync(CancellationToken stopped)
    {
        var set = new List<Pending>(maxSetSize);
        try
        {
            while (await pending.Reader.WaitToReadAsync(stopped).ConfigureAwait(false))
            {
                while (set.Count < maxSetSize && pending.Reader.TryRead(out var next))
                {
                    if (next.Abandoned.IsCancellationRequested)
                    {
                        next.Completion.TrySetCanceled(next.Abandoned);
                        continue;
                    }

                    set.Add(next);
                }

                if (set.Count == 0)
                {
                    continue;
                }

                await WriteSetAsync(set, stopped).ConfigureAwait(false);
                set.Clear();
            }
        }
        catch (OperationCanceledException) when (stopped.IsCancellationRequested)
        {
            foreach (var waiting in set)
            {
                waiting.Completion.TrySetCanceled(stopped);
            }

            while (pending.Reader.TryRead(out var abandoned))
            {
                abandoned.Completion.TrySetCanceled(stopped);
            }
        }
    }

    private async Task WriteSetAsync(List<Pending> set, CancellationToken stopped)
    {
        try
        {
            var results = await write([.. set.Select(p => p.Item)], stopped).ConfigureAwait(false);
            for (var i = 0; i < set.Count; i++)
            {
                set[i].Completion.TrySetResult(results[i]);
            }
        }
        catch (Exception exception) when (set.Count > 1 && exception is not OperationCanceledException && isItemError(exception))
        {
            foreach (var single in set)
            {
                await WriteSetAsync([single], stopped).ConfigureAwait(false);
            }
        }
        catch (Exception exception)
        {
            foreach (var failed in set)
            {
                failed.Completion.TrySetException(exception);
            }
        }
    }

    private readonly record struct Pending(TItem Item, TaskCompletionSource<TResult> Completion, CancellationToken Abandoned);
}

/// <summary>A group commit refused an item because the most items are already waiting for their set.</summary>
public sealed class GroupCommitFullException() : Exception("Too many writes are waiting to be committed.");
