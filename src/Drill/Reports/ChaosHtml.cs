using System.Globalization;
using System.Text;
using TaskServer.Drill.Chaos;
using static TaskServer.Drill.Reports.HtmlReport;

namespace TaskServer.Drill.Reports;

/// <summary>
/// report.html of <c>chaos</c>: the checker's counts, a timeline with every fault as a bar (planned, and as it went)
/// above the acknowledgements and failed attempts per second, the faults, the tasks found wrong with what their reads
/// saw, and the run's events.
/// </summary>
internal static class ChaosHtml
{
    private const int RowHeight = 14;
    private const int ViolationsShown = 50;

    public static string Render(ChaosReport report)
    {
        var html = Open("TaskServer chaos run", $"Chaos run, seed {report.Seed}", report.Header);
        Counts(html, report);
        Timeline(html, report);
        Faults(html, report.Faults);
        Violations(html, report);
        Events(html, report);
        return Close(html);
    }

    private static void Counts(StringBuilder html, ChaosReport report)
    {
        html.Append("<section id=\"counts\">\n<h2>Checker</h2>\n")
            .Append(CultureInfo.InvariantCulture, $"<p class=\"{(report.Passed ? "pass" : "fail")}\">{(report.Passed ? "PASS" : "FAIL")}</p>\n")
            .Append(CultureInfo.InvariantCulture, $"<p>{report.Submitted} submitted, {report.Acknowledged} acknowledged ({E(ReportWriter.Counted(report.AcknowledgedByKind))}), {report.SubmitErrors} given up on; final: {E(ReportWriter.Counted(report.FinalStatuses))}; all final {(report.SettledAfterS is { } s ? $"{F(s)} s after the cluster was whole again" : "only past the check's wait")}.</p>\n")
            .Append("<table>\n<tr><th>count (tasks)</th><th>value</th></tr>\n");
        foreach (var (name, value) in report.Counts())
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{name}</td><td class=\"{(value == 0 ? "pass" : "fail")}\" data-count=\"{name}\">{value}</td></tr>\n");
        }

        html.Append("</table>\n</section>\n");
    }

    /// <summary>One row per fault (a pale bar as planned, a solid one as it went), then acknowledgements and failed attempts per second.</summary>
    private static void Timeline(StringBuilder html, ChaosReport report)
    {
        const int top = 26;
        var faults = report.Faults;
        var ratesTop = top + (faults.Count * RowHeight) + 16;
        var bottom = ratesTop + 140;
        var height = bottom + 40;
        var timeline = report.Timeline;
        // Whole multiples of 5 s, so the axis's fifths fall on whole seconds.
        var end = Math.Ceiling((faults.Select(f => f.UndoneAt ?? f.End).Append(timeline.Seconds.DefaultIfEmpty(0).Max()).Max() + 0.5) / 5) * 5;
        var peak = Nice(Math.Max(1, timeline.AcknowledgedPerSecond.Concat(timeline.ErrorsPerSecond).Where(double.IsFinite).DefaultIfEmpty(1).Max()));
        double X(double seconds) => Left + (seconds / end * (Width - Left - Right));
        double Y(double rate) => bottom - (rate / peak * (bottom - ratesTop));

        html.Append("<section id=\"timeline\">\n<h2>Timeline</h2>\n")
            .Append(CultureInfo.InvariantCulture, $"<svg id=\"fault-timeline\" role=\"img\" aria-label=\"faults and load over time\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n");
        Axis(html, 0, end, X, top, bottom, "seconds since the load started");
        RateTicks(html, peak, Y, ratesTop, bottom, "per second");
        for (var i = 0; i < faults.Count; i++)
        {
            var fault = faults[i];
            var y = top + (i * RowHeight);
            var color = Color(fault.Kind);
            var label = $"{fault.Kind.Name()} {fault.Target}";
            var from = fault.StruckAt ?? fault.Start;
            var to = Math.Max(fault.UndoneAt ?? fault.End, fault.End);

            // Beside the bar, on whichever side has the room: the kinds' names are longer than the left margin.
            var (labelX, anchor) = X(from) - Left > (Width - Right - X(to)) ? (X(from) - 4, "end") : (X(to) + 4, "start");
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"{P(labelX)}\" y=\"{y + 10}\" text-anchor=\"{anchor}\">{E(label)}</text>\n")
                .Append(CultureInfo.InvariantCulture, $"<rect class=\"planned\" x=\"{P(X(fault.Start))}\" y=\"{y + 2}\" width=\"{P(Math.Max(2, X(fault.End) - X(fault.Start)))}\" height=\"{RowHeight - 4}\" fill=\"{color}\" fill-opacity=\"0.25\"><title>{E(label)}: planned {F(fault.Start)}-{F(fault.End)} s</title></rect>\n");
            if (fault.StruckAt is { } struck)
            {
                var undone = fault.UndoneAt ?? Math.Max(struck, fault.End);
                html.Append(CultureInfo.InvariantCulture, $"<rect class=\"fault\" data-kind=\"{fault.Kind.Name()}\" x=\"{P(X(struck))}\" y=\"{y + 4}\" width=\"{P(Math.Max(2, X(undone) - X(struck)))}\" height=\"{RowHeight - 8}\" fill=\"{color}\"><title>{E(label)}: {E(fault.Struck ?? "")}, {F(struck)}-{F(undone)} s</title></rect>\n");
            }
        }

        Line(html, "acks", timeline.Seconds, timeline.AcknowledgedPerSecond, "#1f77b4", X, Y);
        Line(html, "errors", timeline.Seconds, timeline.ErrorsPerSecond, "#d62728", X, Y);
        html.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"14\">pale: planned; solid: struck to undone</text><text x=\"{Left + 260}\" y=\"14\" fill=\"#1f77b4\">acknowledged/s</text><text x=\"{Left + 360}\" y=\"14\" fill=\"#d62728\">failed attempts/s</text>\n")
            .Append("</svg>\n</section>\n");
    }

    private static void Line(StringBuilder html, string name, double[] seconds, double[] rates, string color, Func<double, double> x, Func<double, double> y)
    {
        var points = string.Join(' ', seconds.Zip(rates).Where(p => double.IsFinite(p.Second)).Select(p => $"{P(x(p.First))},{P(y(p.Second))}"));
        html.Append(CultureInfo.InvariantCulture, $"<polyline class=\"{name}\" points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/>\n");
    }

    private static void Faults(StringBuilder html, IReadOnlyList<ChaosFault> faults)
    {
        html.Append("<section id=\"faults\">\n<h2>Faults</h2>\n<table>\n<tr><th>kind</th><th>target</th><th>planned (s)</th><th>value</th><th>struck</th><th>struck / undone (s)</th><th>notes</th></tr>\n");
        foreach (var f in faults)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{f.Kind.Name()}</td><td class=\"text\">{E(f.Target)}</td><td>{F(f.Start)}-{F(f.End)}</td><td>{F(f.Value)}</td><td class=\"text\">{E(f.Struck ?? "-")}</td><td>{F(f.StruckAt)} / {F(f.UndoneAt)}</td><td class=\"text\">{E(string.Join("; ", f.Notes))}</td></tr>\n");
        }

        html.Append("</table>\n</section>\n");
    }

    private static void Violations(StringBuilder html, ChaosReport report)
    {
        html.Append("<section id=\"violations\">\n<h2>Tasks found wrong</h2>\n");
        if (report.Violations.Count == 0)
        {
            html.Append("<p>None.</p>\n</section>\n");
            return;
        }

        html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">The first {Math.Min(ViolationsShown, report.Violations.Count)} of the {report.Violations.Count} in report.json (which lists up to {report.ViolationsListedPerKind} per kind).</p>\n")
            .Append("<table>\n<tr><th>task</th><th>kind</th><th>task kind</th><th>detail</th><th>reads</th><th>callbacks (attempt)</th></tr>\n");
        foreach (var v in report.Violations.Take(ViolationsShown))
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr class=\"violation\"><td class=\"text\"><code>{v.TaskId}</code></td><td class=\"text\">{v.Kind.Name()}</td><td class=\"text\">{E(v.TaskKind)}</td><td class=\"text\">{E(v.Detail)}</td><td class=\"text\">{E(ReportWriter.History(v.History))}</td><td>{E(string.Join(", ", v.Callbacks.Select(c => c.Attempt)))}</td></tr>\n");
        }

        html.Append("</table>\n</section>\n");
    }

    private static void Events(StringBuilder html, ChaosReport report)
    {
        html.Append(CultureInfo.InvariantCulture, $"<section id=\"events\">\n<details>\n<summary>Events ({report.Events.Count})</summary>\n<table>\n<tr><th>s</th><th>event</th></tr>\n");
        foreach (var e in report.Events)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{F(e.At)}</td><td class=\"text\">{E(e.Text)}</td></tr>\n");
        }

        html.Append("</table>\n</details>\n");
        foreach (var note in report.Notes)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{E(note)}</p>\n");
        }

        html.Append("</section>\n");
    }

    private static string Color(FaultKind kind) => kind switch
    {
        FaultKind.KillWorker => "#d62728",
        FaultKind.PauseWorker => "#ff7f0e",
        FaultKind.KillPrimary => "#8c0000",
        FaultKind.PausePrimary => "#bcbd22",
        FaultKind.DatabaseRestart => "#1f77b4",
        FaultKind.TerminateSessions => "#17becf",
        FaultKind.PrimaryLoginRefused => "#9467bd",
        FaultKind.WorkerLatency => "#8c564b",
        FaultKind.CrashTask => "#e377c2",
        FaultKind.RollingRestart => "#2ca02c",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no colour for this fault"),
    };
}
