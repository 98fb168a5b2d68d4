using TaskServer.Drill.Load;

namespace TaskServer.Drill.Analysis;

/// <summary>
/// A run in time buckets: acknowledgements and failed attempts (as rates per second) and the latency of
/// what was acknowledged in each bucket. <see cref="Seconds"/> holds each bucket's start.
/// </summary>
internal sealed record Timeline(double[] Seconds, double[] AcknowledgedPerSecond, double[] ErrorsPerSecond, double[] LatencyP50, double[] LatencyP99)
{
    /// <param name="failedAttempts">When attempts failed (ms since the start), retried or not.</param>
    /// <param name="bucketMs">Bucket width: half a second shows a one-second outage; a minute-long bench reads better by the second.</param>
    public static Timeline Build(IReadOnlyList<Submission> submissions, IEnumerable<double> failedAttempts, double bucketMs = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketMs);
        var acknowledged = submissions.Where(s => s.Acknowledged).ToList();
        var errors = failedAttempts.Concat(submissions.Where(s => s.Error is not null).Select(s => s.SentMs)).ToList();
        var last = Math.Max(acknowledged.Count == 0 ? 0 : acknowledged.Max(s => s.AckMs!.Value), errors.Count == 0 ? 0 : errors.Max());
        var buckets = (int)Math.Floor(last / bucketMs) + 1;
        var seconds = Enumerable.Range(0, buckets).Select(i => i * bucketMs / 1000).ToArray();
        var acks = new double[buckets];
        var failed = new double[buckets];
        var latencies = Enumerable.Range(0, buckets).Select(_ => new List<double>()).ToArray();
        foreach (var submission in acknowledged)
        {
            var bucket = Bucket(submission.AckMs!.Value);
            acks[bucket] += 1000 / bucketMs;
            latencies[bucket].Add(submission.LatencyMs!.Value);
        }

        foreach (var at in errors)
        {
            failed[Bucket(at)] += 1000 / bucketMs;
        }

        // A second with no acknowledgement has no latency: NaN leaves a gap in the chart instead of a false zero.
        return new Timeline(
            seconds,
            acks,
            failed,
            [.. latencies.Select(l => LatencySummary.Of(l).P50 ?? double.NaN)],
            [.. latencies.Select(l => LatencySummary.Of(l).P99 ?? double.NaN)]);

        int Bucket(double ms) => Math.Clamp((int)Math.Floor(ms / bucketMs), 0, buckets - 1);
    }
}

/// <summary>A moment worth a vertical line on the chart: the kill, the promotion, a phase's start.</summary>
internal sealed record Marker(double Ms, string Label);
