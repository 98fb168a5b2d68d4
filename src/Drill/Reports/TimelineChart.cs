using ScottPlot;
using TaskServer.Drill.Analysis;

namespace TaskServer.Drill.Reports;

/// <summary>
/// timeline.png: acknowledgements and failed attempts per second above, submit latency p50/p99 per
/// second below, both on the run's seconds, with the drill's moments (kill, promotion) as labelled lines.
/// </summary>
internal static class TimelineChart
{
    private const int Width = 1200;
    private const int Height = 600;

    // SkiaSharp's self-contained native build reads no fontconfig, so it is handed a font file; the first
    // of these that exists is used (Debian's fonts-dejavu-core / fonts-liberation).
    private static readonly string[] FontFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ];

    public static void Save(string path, string title, Timeline timeline, IReadOnlyList<Marker> markers)
    {
        var font = FontFiles.FirstOrDefault(File.Exists);
        if (font is not null)
        {
            Fonts.AddFontFile("TimelineFont", font);
        }

        // A new Multiplot holds one plot already: it becomes the upper one.
        var multiplot = new Multiplot();
        var rates = multiplot.GetPlot(0);
        var latency = new Plot();
        multiplot.AddPlot(latency);
        Plot[] plots = [rates, latency];
        if (font is not null)
        {
            foreach (var plot in plots)
            {
                plot.Font.Set("TimelineFont");
            }
        }

        rates.Title(title);
        var acknowledged = rates.Add.Scatter(timeline.Seconds, timeline.AcknowledgedPerSecond);
        acknowledged.LegendText = "acknowledged/s";
        acknowledged.LineWidth = 2;
        acknowledged.MarkerSize = 4;
        var errors = rates.Add.Scatter(timeline.Seconds, timeline.ErrorsPerSecond);
        errors.LegendText = "failed attempts/s";
        errors.LineWidth = 2;
        errors.MarkerSize = 4;
        errors.Color = Colors.Red;
        rates.YLabel("per second");

        var p50 = latency.Add.Scatter(timeline.Seconds, timeline.LatencyP50);
        p50.LegendText = "latency p50";
        p50.LineWidth = 2;
        p50.MarkerSize = 4;
        var p99 = latency.Add.Scatter(timeline.Seconds, timeline.LatencyP99);
        p99.LegendText = "latency p99";
        p99.LineWidth = 2;
        p99.MarkerSize = 4;
        p99.Color = Colors.OrangeRed;
        latency.YLabel("submit -> ack (ms)");
        latency.XLabel("seconds since the start of the run");

        // The rates' ceiling leaves a band above the data for the marker labels, staggered on three rows
        // so that moments a few hundred milliseconds apart (kill, promotion) stay readable.
        var peak = timeline.AcknowledgedPerSecond.Concat(timeline.ErrorsPerSecond).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        var ceiling = Math.Max(1, peak) * 1.45;
        Color[] markerColors = [Colors.DarkViolet, Colors.ForestGreen, Colors.DarkOrange, Colors.SteelBlue, Colors.Brown, Colors.DarkCyan];
        for (var i = 0; i < markers.Count; i++)
        {
            var color = markerColors[i % markerColors.Length];
            foreach (var plot in plots)
            {
                var line = plot.Add.VerticalLine(markers[i].Ms / 1000);
                line.Color = color;
                line.LinePattern = LinePattern.Dashed;
                line.LineWidth = 1.5f;
            }

            var label = rates.Add.Text(markers[i].Label, markers[i].Ms / 1000, ceiling * (0.98 - (0.09 * (i % 3))));
            label.LabelAlignment = Alignment.UpperLeft;
            label.LabelFontColor = Colors.White;
            label.LabelBackgroundColor = color;
            label.LabelFontSize = 13;
            label.OffsetX = 3;
        }

        var end = Math.Max(1, timeline.Seconds.Length == 0 ? 0 : timeline.Seconds[^1] + (timeline.Seconds.Length > 1 ? timeline.Seconds[1] : 1));
        rates.Axes.SetLimitsY(0, ceiling);
        latency.Axes.SetLimitsY(0, Math.Max(1, timeline.LatencyP99.Concat(timeline.LatencyP50).Where(double.IsFinite).DefaultIfEmpty(0).Max()) * 1.1);
        foreach (var plot in plots)
        {
            plot.Axes.SetLimitsX(0, end);

            // One fixed frame for both plots, so that their time axes line up; the legends sit in its right margin.
            plot.Layout.Fixed(new PixelPadding(left: 80, right: 200, bottom: plot == latency ? 50 : 25, top: plot == rates ? 35 : 10));
            plot.ShowLegend(Edge.Right);
        }

        multiplot.SavePng(path, Width, Height);
    }
}
