using TaskServer.StorageManager.Tasks;

namespace TaskServer.Execution;

/// <summary>
/// Asked by a handler right before a side effect that must not happen twice: is this attempt still the task's current
/// one? A worker that was paused or cut off long enough to be judged lost has had its attempt rescued (run elsewhere,
/// or failed when it was the last), and once it runs again nothing local tells it so until the drain's next check.
/// Recent contact with the database proves nothing either: the first write after a pause succeeds. So the answer is
/// read from the task's row, and an attempt this process has already seen superseded is refused without a read.
/// A read is proof only as of when the database answered it; a pause before the answer was handled could have let a
/// rescue in since. So the answer also needs a heartbeat the database took within half the worker timeout
/// (<see cref="LastHeartbeat"/>): until the full timeout has passed since that beat, no rescue can take the attempt.
/// The window left is a pause between the check and the side effect itself.
/// </summary>
public interface IAttemptFence
{
    /// <returns>False when the attempt is over (superseded, not running here) or the store cannot be read.</returns>
    Task<bool> IsCurrentAsync(TaskExecutionContext context, CancellationToken cancellationToken);
}

/// <summary>The fence over this process's running attempts and the task store.</summary>
public sealed class AttemptFence(RunningAttempts running, ITaskStore store, LastHeartbeat heartbeat, ExecutionWorker worker) : IAttemptFence
{
    public async Task<bool> IsCurrentAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        if (running.Find(context.TaskId, context.AttemptToken) is not { Superseded: false })
        {
            return false;
        }

        IReadOnlyList<CurrentAttempt> current;
        try
        {
            current = await store.GetCurrentAttemptsAsync([context.TaskId], cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Unconfirmed is not current: withholding a side effect is the failure that can be retried.
            return false;
        }

        return current is [{ Status: TaskState.Running } now]
            && now.AttemptToken == context.AttemptToken
            && heartbeat.Age < worker.WorkerTimeout / 2;
    }
}
