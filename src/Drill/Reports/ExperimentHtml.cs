using System.Globalization;
using System.Text;
using TaskServer.Drill.Analysis;
using static TaskServer.Drill.Reports.HtmlReport;

namespace TaskServer.Drill.Reports;

/// <summary>
/// report.html of the experiment: one self-contained page (inline CSS and SVG, no script, nothing fetched)
/// with the summary, TTD and TTR per phase as a strip chart (every repetition a dot, p50 a bar), and each
/// phase's timeline: acknowledgements per second of every repetition, with its strike, detection and recovery.
/// </summary>
internal static class ExperimentHtml
{
    private static readonly string[] RepetitionColors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728"];

    public static string Render(ExperimentReport report)
    {
        var html = HtmlReport.Open("TaskServer fault-tolerance experiment", "Fault-tolerance experiment", report.ExperimentInfo);
        Summary(html, report);
        Distributions(html, report.Results);
        foreach (var phase in report.Results)
        {
            PhaseSection(html, phase);
        }

        return HtmlReport.Close(html);
    }

    private static void Summary(StringBuilder html, ExperimentReport report)
    {
        var s = report.Summary;
        html.Append("<section id=\"summary\">\n<h2>Summary</h2>\n")
            .Append(CultureInfo.InvariantCulture, $"<p>{s.Phases} phases, {s.Repetitions} repetitions: mean TTD {F(s.AvgTtdMs)} ms, mean TTR {F(s.AvgTtrMs)} ms, worst p95 latency {F(s.MaxP95Ms)} ms, lowest success rate {F(s.MinSuccessRate)}, {s.LostTotal} acknowledged tasks lost, {s.RepeatedSideEffectsTotal} side effects repeated by one attempt.</p>\n")
            .Append("<table>\n<tr><th>phase</th><th>fault</th><th>TTD p50 / p99 (ms)</th><th>TTR p50 / p99 (ms)</th><th>rps</th><th>avg / p95 / p99 latency (ms)</th><th>success</th><th>lost</th><th>duplicates</th><th>incorrect</th></tr>\n");
        foreach (var p in report.Results)
        {
            var load = p.LoadTestResult;
            html.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"#phase-{E(p.Phase)}\">{E(p.Phase)}</a></td><td>{E(p.Fault)}</td><td>{F(p.TtdMs.P50)} / {F(p.TtdMs.P99)}</td><td>{F(p.TtrMs.P50)} / {F(p.TtrMs.P99)}</td><td>{F(load.Rps)}</td><td>{F(load.AvgLatencyMs)} / {F(load.P95LatencyMs)} / {F(load.P99LatencyMs)}</td><td>{F(load.SuccessRate)}</td><td>{p.Lost}</td><td>{p.Duplicates}</td><td>{p.IncorrectResults}</td></tr>\n");
        }

        html.Append("</table>\n</section>\n");
    }

    /// <summary>Per phase two rows, TTD and TTR: a dot per repetition, a line from min to max, a bar at p50.</summary>
    private static void Distributions(StringBuilder html, IReadOnlyList<PhaseResult> results)
    {
        const int row = 18;
        const int top = 30;
        var values = results.SelectMany(p => p.Repetitions).SelectMany(r => new[] { r.TtdMs, r.TtrMs }).OfType<double>().ToList();
        var max = Nice(values.DefaultIfEmpty(1000).Max());
        var min = Math.Min(0, values.DefaultIfEmpty(0).Min());
        var height = top + (results.Count * row * 2) + 40;
        double X(double ms) => Left + ((ms - min) / (max - min) * (Width - Left - Right));

        html.Append("<section id=\"distribution\">\n<h2>TTD and TTR per phase</h2>\n")
            .Append(CultureInfo.InvariantCulture, $"<svg id=\"ttd-ttr-chart\" role=\"img\" aria-label=\"TTD and TTR per phase\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n");
        Axis(html, min, max, X, top - 8, height - 30, "ms after the strike");
        html.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{Left}\" cy=\"12\" r=\"4\" fill=\"#1f77b4\"/><text x=\"{Left + 8}\" y=\"16\">TTD</text><circle cx=\"{Left + 60}\" cy=\"12\" r=\"4\" fill=\"#ff7f0e\"/><text x=\"{Left + 68}\" y=\"16\">TTR</text><text x=\"{Left + 120}\" y=\"16\">(dots: repetitions; bar: p50)</text>\n");
        var y = top;
        foreach (var phase in results)
        {
            foreach (var (label, color, distribution, pick) in new (string, string, Distribution, Func<Repetition, double?>)[]
            {
                ("TTD", "#1f77b4", phase.TtdMs, r => r.TtdMs),
                ("TTR", "#ff7f0e", phase.TtrMs, r => r.TtrMs),
            })
            {
                var mid = y + (row / 2);
                html.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{mid + 4}\" text-anchor=\"end\">{E(phase.Phase)} {label}</text>\n");
                if (distribution is { Min: { } low, Max: { } high })
                {
                    html.Append(CultureInfo.InvariantCulture, $"<line x1=\"{P(X(low))}\" y1=\"{mid}\" x2=\"{P(X(high))}\" y2=\"{mid}\" stroke=\"{color}\" stroke-opacity=\"0.4\" stroke-width=\"2\"/>\n");
                }

                foreach (var repetition in phase.Repetitions)
                {
                    if (pick(repetition) is { } ms)
                    {
                        html.Append(CultureInfo.InvariantCulture, $"<circle class=\"{label.ToLowerInvariant()}\" cx=\"{P(X(ms))}\" cy=\"{mid}\" r=\"4\" fill=\"{color}\"><title>{E(phase.Phase)} #{repetition.Number} {label} {F(ms)} ms</title></circle>\n");
                    }
                }

                if (distribution.P50 is { } p50)
                {
                    html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{P(X(p50) - 1.5)}\" y=\"{mid - 7}\" width=\"3\" height=\"14\" fill=\"#222\"><title>{E(phase.Phase)} {label} p50 {F(p50)} ms</title></rect>\n");
                }
                else
                {
                    html.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + 4}\" y=\"{mid + 4}\" fill=\"#999\">n/a</text>\n");
                }

                y += row;
            }
        }

        html.Append("</svg>\n</section>\n");
    }

    private static void PhaseSection(StringBuilder html, PhaseResult phase)
    {
        html.Append(CultureInfo.InvariantCulture, $"<section class=\"phase\" id=\"phase-{E(phase.Phase)}\">\n<h2>{E(phase.Phase)}</h2>\n")
            .Append(CultureInfo.InvariantCulture, $"<p>Fault: {E(phase.Fault)}. Detection: {E(phase.Detection)}. TTD ms min / p50 / p95 / p99 / max: {Spread(phase.TtdMs)}; TTR: {Spread(phase.TtrMs)}.</p>\n");
        foreach (var note in phase.Notes.Concat(phase.Repetitions.SelectMany(r => r.Notes.Select(n => $"#{r.Number}: {n}"))))
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{E(note)}</p>\n");
        }

        if (phase.Repetitions.Count == 0)
        {
            html.Append("</section>\n");
            return;
        }

        html.Append("<table>\n<tr><th>#</th><th>struck</th><th>TTD ms</th><th>TTR ms</th><th>rps</th><th>p95 ms</th><th>success</th><th>acknowledged</th><th>lost</th><th>duplicates</th><th>repeated</th><th>incorrect</th></tr>\n");
        foreach (var r in phase.Repetitions)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{r.Number}</td><td>{E(r.StruckNode ?? "-")}</td><td>{F(r.TtdMs)}</td><td>{F(r.TtrMs)}</td><td>{F(r.LoadTestResult.Rps)}</td><td>{F(r.LoadTestResult.P95LatencyMs)}</td><td>{F(r.LoadTestResult.SuccessRate)}</td><td>{r.Acknowledged}</td><td>{r.Lost}</td><td>{r.Duplicates}</td><td>{r.RepeatedSideEffects}</td><td>{r.IncorrectResults}</td></tr>\n");
        }

        html.Append("</table>\n");
        Timeline(html, phase);
        html.Append("</section>\n");
    }

    /// <summary>Acknowledgements per second of every repetition on the repetition's own clock; dashed lines at its strike (red), detection (blue) and recovery (green).</summary>
    private static void Timeline(StringBuilder html, PhaseResult phase)
    {
        const int height = 240;
        const int top = 26;
        const int bottom = height - 34;
        var end = Math.Max(1, phase.Repetitions.SelectMany(r => r.Timeline.Seconds).DefaultIfEmpty(0).Max() + 0.5);
        var peak = Nice(Math.Max(1, phase.Repetitions.SelectMany(r => r.Timeline.AcknowledgedPerSecond).Where(double.IsFinite).DefaultIfEmpty(1).Max()));
        double X(double seconds) => Left + (seconds / end * (Width - Left - Right));
        double Y(double rate) => bottom - (rate / peak * (bottom - top));

        html.Append(CultureInfo.InvariantCulture, $"<svg class=\"timeline\" role=\"img\" aria-label=\"{E(phase.Phase)} timeline\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n");
        Axis(html, 0, end, X, top, bottom, "seconds since the repetition started");
        RateTicks(html, peak, Y, top, bottom, "acknowledged/s");
        foreach (var r in phase.Repetitions)
        {
            var color = RepetitionColors[(r.Number - 1) % RepetitionColors.Length];
            var points = string.Join(' ', r.Timeline.Seconds.Zip(r.Timeline.AcknowledgedPerSecond).Select(p => $"{P(X(p.First))},{P(Y(p.Second))}"));
            html.Append(CultureInfo.InvariantCulture, $"<polyline class=\"acks\" points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"><title>#{r.Number}</title></polyline>\n");
            foreach (var marker in r.Markers)
            {
                var stroke = marker.Label.StartsWith("strike", StringComparison.Ordinal) ? "#d62728" : marker.Label == "detected" ? "#1f77b4" : marker.Label == "recovered" ? "#2ca02c" : "#999";
                var x = P(X(marker.Ms / 1000));
                html.Append(CultureInfo.InvariantCulture, $"<line class=\"marker\" x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"{stroke}\" stroke-dasharray=\"4 3\"><title>#{r.Number} {E(marker.Label)} at {F(marker.Ms / 1000)} s</title></line>\n");
            }
        }

        var legend = Left;
        foreach (var r in phase.Repetitions)
        {
            html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{legend}\" y=\"8\" width=\"10\" height=\"3\" fill=\"{RepetitionColors[(r.Number - 1) % RepetitionColors.Length]}\"/><text x=\"{legend + 14}\" y=\"13\">#{r.Number}</text>\n");
            legend += 40;
        }

        html.Append(CultureInfo.InvariantCulture, $"<text x=\"{legend + 10}\" y=\"13\" fill=\"#d62728\">strike</text><text x=\"{legend + 50}\" y=\"13\" fill=\"#1f77b4\">detected</text><text x=\"{legend + 110}\" y=\"13\" fill=\"#2ca02c\">recovered</text>\n</svg>\n");
    }

    private static string Spread(Distribution d) => $"{F(d.Min)} / {F(d.P50)} / {F(d.P95)} / {F(d.P99)} / {F(d.Max)}";

}
