using TaskServer.Drill.Analysis;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Load;

namespace TaskServer.Drill.Tests;

public sealed class AnalysisTests
{
    private const string Alpha = "http://127.0.0.1:5080";
    private const string Beta = "http://127.0.0.1:5081";

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        var values = Enumerable.Range(1, 100).Select(i => (double)i).ToList();

        Assert.Equal(50, Percentiles.Of(values, 50));
        Assert.Equal(95, Percentiles.Of(values, 95));
        Assert.Equal(99, Percentiles.Of(values, 99));
        Assert.Equal(100, Percentiles.Of(values, 100));
        Assert.Equal(7, Percentiles.Of([7], 99));
        Assert.Equal(2, Percentiles.Of([1, 2, 3], 50));
        Assert.Null(Percentiles.Of([], 50));
    }

    [Fact]
    public void Latency_summary_sorts_its_input()
    {
        var summary = LatencySummary.Of([30, 10, 20, 40]);

        Assert.Equal(new LatencySummary(20, 40, 40, 40, 4), summary);
        Assert.Equal(new LatencySummary(null, null, null, null, 0), LatencySummary.Of([]));
    }

    [Fact]
    public void Lost_is_acknowledged_but_not_final()
    {
        var (a, b, c, d) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        List<Submission> run =
        [
            Ack(0, 0, 10, a, Alpha),
            Ack(1, 20, 30, b, Alpha),
            Ack(2, 40, 50, c, Alpha),
            Ack(3, 60, 70, d, Alpha),
            new(4, "callback", 80, null, null, null, "No gateway answered after retries"),
        ];
        var observed = new Dictionary<Guid, ObservedTask>
        {
            [a] = new("Succeeded", 1),
            [b] = new("Failed", 3),
            [c] = new("Running", 1),
        };

        var figures = RunFigures.Compute(run, observed, new Dictionary<Guid, IReadOnlyList<int>>(), null, null);

        Assert.Equal(5, figures.Submitted);
        Assert.Equal(4, figures.Acknowledged);
        Assert.Equal(1, figures.SubmitErrors);
        Assert.Equal(1, figures.Succeeded);
        Assert.Equal(1, figures.Failed);
        Assert.Equal(2, figures.Lost);
        Assert.Equal(new[] { c, d }.Order(), figures.LostIds.Order());
        Assert.Equal(1, figures.Requeued);
    }

    [Fact]
    public void Duplicates_repeated_attempts_and_missing_side_effects_come_from_the_callbacks()
    {
        var (once, retried, repeated, silent) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        List<Submission> run = [Ack(0, 0, 5, once, Alpha), Ack(1, 0, 5, retried, Alpha), Ack(2, 0, 5, repeated, Alpha), Ack(3, 0, 5, silent, Alpha)];
        var observed = new[] { once, retried, repeated, silent }.ToDictionary(id => id, id => new ObservedTask("Succeeded", id == retried ? 2 : 1));
        var callbacks = new Dictionary<Guid, IReadOnlyList<int>>
        {
            [once] = [1],
            [retried] = [1, 2],
            [repeated] = [1, 1],
        };

        var figures = RunFigures.Compute(run, observed, callbacks, null, null);

        Assert.Equal(2, figures.Duplicates);
        Assert.Equal(1, figures.RepeatedAttempts);
        Assert.Equal(1, figures.MissingSideEffects);
        Assert.Equal(1, figures.Requeued);
        Assert.Equal(0, figures.Lost);
    }

    [Fact]
    public void Recovery_is_the_first_acknowledgement_by_another_gateway_after_the_strike()
    {
        // Acks every 20 ms on alpha; alpha killed at 1000 ms; one answer already on its way lands at
        // 1003 ms from alpha; beta acknowledges from 1800 ms on.
        var run = new List<Submission>();
        for (var i = 0; i < 50; i++)
        {
            run.Add(Ack(i, i * 20, (i * 20) + 5, Guid.NewGuid(), Alpha));
        }

        run.Add(Ack(50, 990, 1003, Guid.NewGuid(), Alpha));
        run.Add(Ack(51, 1000, 1800, Guid.NewGuid(), Beta));
        run.Add(Ack(52, 1020, 1810, Guid.NewGuid(), Beta));
        run.Add(Ack(53, 1840, 1850, Guid.NewGuid(), Beta));
        var observed = run.ToDictionary(s => s.TaskId!.Value, _ => new ObservedTask("Succeeded", 1));

        var figures = RunFigures.Compute(run, observed, new Dictionary<Guid, IReadOnlyList<int>>(), 1000, Alpha);

        Assert.Equal(800, figures.TtrMs);
        Assert.Equal(797, figures.UnavailableMs);
    }

    [Fact]
    public void No_recovery_and_no_outage_without_a_strike_or_later_acknowledgements()
    {
        List<Submission> run = [Ack(0, 0, 10, Guid.NewGuid(), Alpha), Ack(1, 10, 20, Guid.NewGuid(), Alpha)];
        var observed = run.ToDictionary(s => s.TaskId!.Value, _ => new ObservedTask("Succeeded", 1));

        var struckAfterTheLastAck = RunFigures.Compute(run, observed, new Dictionary<Guid, IReadOnlyList<int>>(), 500, Alpha);
        var noStrike = RunFigures.Compute(run, observed, new Dictionary<Guid, IReadOnlyList<int>>(), null, null);

        Assert.Null(struckAfterTheLastAck.TtrMs);
        Assert.Null(struckAfterTheLastAck.UnavailableMs);
        Assert.Null(noStrike.TtrMs);
        Assert.Null(noStrike.UnavailableMs);
    }

    [Fact]
    public void Throughput_and_latency_cover_the_acknowledged_submissions()
    {
        // 11 acknowledgements over one second (first sent at 0, last acknowledged at 1000).
        var run = Enumerable.Range(0, 11).Select(i => Ack(i, i * 90, (i * 90) + 100, Guid.NewGuid(), Alpha)).ToList();
        var observed = run.ToDictionary(s => s.TaskId!.Value, _ => new ObservedTask("Succeeded", 1));

        var figures = RunFigures.Compute(run, observed, new Dictionary<Guid, IReadOnlyList<int>>(), null, null);

        Assert.Equal(11, figures.ThroughputPerS);
        Assert.Equal(100, figures.Latency.P50);
        Assert.Equal(100, figures.Latency.P99);
    }

    [Fact]
    public void Timeline_buckets_rates_per_second_and_leaves_silent_buckets_without_latency()
    {
        List<Submission> run = [Ack(0, 0, 100, Guid.NewGuid(), Alpha), Ack(1, 0, 300, Guid.NewGuid(), Alpha), Ack(2, 1000, 1600, Guid.NewGuid(), Alpha)];

        var timeline = Timeline.Build(run, [1100, 1200, 1300], bucketMs: 500);

        Assert.Equal([0, 0.5, 1, 1.5], timeline.Seconds);
        Assert.Equal([4, 0, 0, 2], timeline.AcknowledgedPerSecond);
        Assert.Equal([0, 0, 6, 0], timeline.ErrorsPerSecond);
        Assert.Equal(100, timeline.LatencyP50[0]);
        Assert.Equal(300, timeline.LatencyP99[0]);
        Assert.True(double.IsNaN(timeline.LatencyP50[1]));
        Assert.Equal(600, timeline.LatencyP50[3]);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("20s", 20_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("00:00:03", 3_000)]
    [InlineData("PT30S", 30_000)]
    public void Durations_read_as_typed(string text, double ms)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("3x")]
    [InlineData("0s")]
    [InlineData("-1s")]
    public void Durations_that_make_no_sense_are_refused(string text) => Assert.False(Durations.TryParse(text, out _));

    private static Submission Ack(int index, double sent, double acknowledged, Guid id, string gateway) =>
        new(index, "callback", sent, acknowledged, id, gateway, null);
}
