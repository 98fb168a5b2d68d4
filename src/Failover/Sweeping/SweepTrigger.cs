using System.Threading.Channels;

namespace TaskServer.Failover.Sweeping;

/// <summary>Wakes the sweeper before its next period: on promotion, "requeue pending work" runs at once.</summary>
public sealed class SweepTrigger
{
    private readonly Channel<bool> signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Fire() => signals.Writer.TryWrite(true);

    internal async Task WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var period = new CancellationTokenSource(timeout, timeProvider);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(period.Token, cancellationToken);
        try
        {
            await signals.Reader.ReadAsync(either.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The period ran out with no trigger: sweep anyway.
        }
    }
}
