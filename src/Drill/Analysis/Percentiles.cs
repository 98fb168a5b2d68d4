namespace TaskServer.Drill.Analysis;

/// <summary>p50 / p95 / p99 of a set of durations in milliseconds; null when there was nothing to measure.</summary>
internal sealed record LatencySummary(double? P50, double? P95, double? P99, double? Max, int Count)
{
    public static LatencySummary Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return new LatencySummary(
            Percentiles.Of(sorted, 50),
            Percentiles.Of(sorted, 95),
            Percentiles.Of(sorted, 99),
            sorted.Length == 0 ? null : Math.Round(sorted[^1], 1),
            sorted.Length);
    }
}

internal static class Percentiles
{
    /// <summary>
    /// Nearest rank on sorted values: the smallest value with at least p % of the values at or below it.
    /// It is always a value that was measured, so a p99 over 100 samples is the second worst, never a blend.
    /// </summary>
    public static double? Of(IReadOnlyList<double> sorted, double percentile)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(percentile);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        if (sorted.Count == 0)
        {
            return null;
        }

        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Count);
        return Math.Round(sorted[Math.Clamp(rank, 1, sorted.Count) - 1], 1);
    }
}

/// <summary>How a figure spread over repeated runs: min, p50, p95, p99 and max (nearest rank), and how many runs had it.</summary>
internal sealed record Distribution(double? Min, double? P50, double? P95, double? P99, double? Max, int Count)
{
    public static Distribution Of(IEnumerable<double?> values)
    {
        var sorted = values.OfType<double>().Where(double.IsFinite).Order().ToArray();
        return new Distribution(
            sorted.Length == 0 ? null : Math.Round(sorted[0], 1),
            Percentiles.Of(sorted, 50),
            Percentiles.Of(sorted, 95),
            Percentiles.Of(sorted, 99),
            sorted.Length == 0 ? null : Math.Round(sorted[^1], 1),
            sorted.Length);
    }
}
