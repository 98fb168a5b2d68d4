using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace TaskServer.Client.Tests.Fakes;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also reports each timer it is asked for, so a test can see the delay
/// Polly chose and then advance the clock by exactly that much. Timers of <paramref name="ignored"/> length
/// (the per-attempt timeout) are not reported.
/// </summary>
internal sealed class DelayWatchingClock(TimeSpan ignored) : TimeProvider
{
    private readonly FakeTimeProvider inner = new();

    public Channel<TimeSpan> Delays { get; } = Channel.CreateUnbounded<TimeSpan>();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public void Advance(TimeSpan delta) => inner.Advance(delta);

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override long GetTimestamp() => inner.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = inner.CreateTimer(callback, state, dueTime, period);
        if (dueTime != ignored && dueTime != Timeout.InfiniteTimeSpan)
        {
            Delays.Writer.TryWrite(dueTime);
        }

        return timer;
    }
}
