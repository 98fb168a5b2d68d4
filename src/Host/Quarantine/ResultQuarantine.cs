using Microsoft.Extensions.Options;

namespace TaskServer.Host.Quarantine;

/// <summary>
/// Whether this worker's results can be trusted. <see cref="QuarantineOptions.FailureThreshold"/> verification failures
/// within the sliding <see cref="QuarantineOptions.Window"/> quarantine it; it stays quarantined, whatever else fails or
/// passes, until <see cref="Release"/> (its canaries verified again). The heartbeat reports the state to the gateways.
/// </summary>
public sealed class ResultQuarantine(IOptions<QuarantineOptions> options, TimeProvider timeProvider)
{
    private readonly Lock gate = new();
    private readonly Queue<long> failures = new();
    private bool quarantined;

    public bool IsQuarantined
    {
        get
        {
            lock (gate)
            {
                return quarantined;
            }
        }
    }

    /// <summary>Counts one result that failed verification; true when this failure put the worker in quarantine.</summary>
    public bool RecordFailure()
    {
        var settings = options.Value;
        var now = timeProvider.GetTimestamp();
        lock (gate)
        {
            while (failures.TryPeek(out var oldest) && timeProvider.GetElapsedTime(oldest, now) > settings.Window)
            {
                failures.Dequeue();
            }

            failures.Enqueue(now);
            if (quarantined || failures.Count < settings.FailureThreshold)
            {
                return false;
            }

            quarantined = true;
            return true;
        }
    }

    /// <summary>Ends the quarantine and forgets past failures: the worker computes correctly again.</summary>
    public void Release()
    {
        lock (gate)
        {
            quarantined = false;
            failures.Clear();
        }
    }
}
