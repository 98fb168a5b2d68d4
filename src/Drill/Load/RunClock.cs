namespace TaskServer.Drill.Load;

/// <summary>
/// One clock for a run: milliseconds since its start on the monotonic clock, convertible to wall time
/// so that times the nodes report (same machine) can be placed on the run's time line.
/// </summary>
internal sealed class RunClock
{
    private readonly TimeProvider time;
    private readonly long start;

    public RunClock(TimeProvider time)
    {
        this.time = time;
        start = time.GetTimestamp();
        StartedAt = time.GetUtcNow();
    }

    public DateTimeOffset StartedAt { get; }

    public double NowMs => time.GetElapsedTime(start).TotalMilliseconds;

    public DateTimeOffset ToWall(double ms) => StartedAt.AddMilliseconds(ms);

    public double FromWall(DateTimeOffset wall) => (wall - StartedAt).TotalMilliseconds;
}
