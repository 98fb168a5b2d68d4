using TaskServer.StorageManager.Tasks;

namespace TaskServer.Execution;

/// <summary>Runs one claimed attempt: its handler under the attempt's deadline, then its outcome.</summary>
public interface IAttemptRunner
{
    /// <summary>
    /// Completes when the attempt is over: its outcome written (or refused, the attempt having been superseded), or,
    /// when <see cref="AttemptEnd.Unwritten"/>, with the outcome that could not be written, for the drain to write later.
    /// An attempt stopped by shutdown ends with <see cref="AttemptEnd.Stopped"/>: nothing was written, and the drain
    /// hands the task back.
    /// </summary>
    Task<AttemptEnd> RunAsync(TaskRecord task, RunningAttempt attempt);
}

/// <summary>How an attempt ended, as far as the drain must know.</summary>
/// <param name="Unwritten">The outcome the store could not take; null when it took it, or when there was none to write.</param>
/// <param name="Stopped">The handler was stopped by shutdown before it finished: the task is still Running under this attempt.</param>
public readonly record struct AttemptEnd(TaskTransition? Unwritten = null, bool Stopped = false);
