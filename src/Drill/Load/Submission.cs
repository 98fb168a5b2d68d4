namespace TaskServer.Drill.Load;

/// <summary>
/// One submission of a run: when it was sent and acknowledged (ms since the run's start), the task the
/// server made of it and the gateway that acknowledged it, or why it failed for good.
/// </summary>
internal sealed record Submission(int Index, string Type, double SentMs, double? AckMs, Guid? TaskId, string? Gateway, string? Error)
{
    public bool Acknowledged => TaskId is not null && AckMs is not null;

    public double? LatencyMs => AckMs - SentMs;
}
