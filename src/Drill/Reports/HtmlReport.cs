using System.Globalization;
using System.Net;
using System.Text;

namespace TaskServer.Drill.Reports;

/// <summary>
/// What every report.html shares: one self-contained page (inline CSS and SVG, no script, nothing fetched), its
/// heading from the report's header, and the charts' axes on one width.
/// </summary>
internal static class HtmlReport
{
    public const int Width = 960;
    public const int Left = 150;
    public const int Right = 30;

    private static readonly int[] NiceSteps = [1, 2, 5, 10];

    /// <summary>The page up to its first section: title, style, the heading and what ran, on what, with which settings.</summary>
    public static StringBuilder Open(string title, string heading, ReportHeader header)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append(CultureInfo.InvariantCulture, $"<title>{E(title)}: {E(header.Storage)}, {E(header.StartedAt.ToString("u", CultureInfo.InvariantCulture))}</title>\n")
            .Append("<style>\n")
            .Append("body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:24px auto;max-width:1000px;color:#222}\n")
            .Append("table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}\n")
            .Append("th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}.note{color:#555;font-size:13px}\n")
            .Append("td.text{text-align:left}.fail{color:#b00;font-weight:bold}.pass{color:#070;font-weight:bold}\n")
            .Append("svg{background:#fff;border:1px solid #ddd;display:block;margin:8px 0}svg text{font-size:11px;fill:#333}\n")
            .Append("</style>\n</head>\n<body>\n");
        html.Append(CultureInfo.InvariantCulture, $"<h1>{E(heading)}</h1>\n<ul class=\"note\">\n")
            .Append(CultureInfo.InvariantCulture, $"<li>command: <code>{E(header.Command)}</code></li>\n")
            .Append(CultureInfo.InvariantCulture, $"<li>started {E(header.StartedAt.ToString("O", CultureInfo.InvariantCulture))}, {F(header.DurationS)} s, storage {E(header.Storage)}</li>\n")
            .Append(CultureInfo.InvariantCulture, $"<li>machine: {header.Machine.Cores} cores ({E(header.Machine.Cpu)}), {E(header.Machine.Os)}, {E(header.Machine.Runtime)}</li>\n")
            .Append(CultureInfo.InvariantCulture, $"<li>settings: {E(string.Join(", ", header.Settings.Select(s => $"{s.Key} {s.Value}")))}</li>\n</ul>\n");
        return html;
    }

    public static string Close(StringBuilder html) => html.Append("</body>\n</html>\n").ToString();

    /// <summary>The horizontal axis at <paramref name="bottom"/> with six ticks and its label, and the vertical one from <paramref name="top"/>.</summary>
    public static void Axis(StringBuilder html, double min, double max, Func<double, double> x, int top, int bottom, string label)
    {
        html.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{bottom}\" x2=\"{Width - Right}\" y2=\"{bottom}\" stroke=\"#333\"/><line x1=\"{Left}\" y1=\"{top}\" x2=\"{Left}\" y2=\"{bottom}\" stroke=\"#333\"/>\n");
        for (var i = 0; i <= 5; i++)
        {
            var value = min + ((max - min) * i / 5);
            html.Append(CultureInfo.InvariantCulture, $"<line x1=\"{P(x(value))}\" y1=\"{bottom}\" x2=\"{P(x(value))}\" y2=\"{bottom + 4}\" stroke=\"#333\"/><text x=\"{P(x(value))}\" y=\"{bottom + 16}\" text-anchor=\"middle\">{F(value)}</text>\n");
        }

        html.Append(CultureInfo.InvariantCulture, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{bottom + 30}\" text-anchor=\"middle\">{E(label)}</text>\n");
    }

    /// <summary>Five ticks from 0 to <paramref name="peak"/> on the vertical axis, and its label written upwards.</summary>
    public static void RateTicks(StringBuilder html, double peak, Func<double, double> y, int top, int bottom, string label)
    {
        for (var i = 0; i <= 4; i++)
        {
            var rate = peak * i / 4;
            html.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left - 4}\" y1=\"{P(y(rate))}\" x2=\"{Left}\" y2=\"{P(y(rate))}\" stroke=\"#333\"/><text x=\"{Left - 8}\" y=\"{P(y(rate) + 4)}\" text-anchor=\"end\">{F(rate)}</text>\n");
        }

        html.Append(CultureInfo.InvariantCulture, $"<text x=\"12\" y=\"{(top + bottom) / 2}\" transform=\"rotate(-90 12 {(top + bottom) / 2})\" text-anchor=\"middle\">{E(label)}</text>\n");
    }

    /// <summary>1, 2 or 5 times a power of ten, at or above the value: an axis end a person reads at a glance.</summary>
    public static double Nice(double value)
    {
        if (value <= 0)
        {
            return 1;
        }

        var power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        return NiceSteps.Select(m => m * power).First(v => v >= value);
    }

    public static string E(string text) => WebUtility.HtmlEncode(text);

    public static string F(double? value) => ReportWriter.Format(value);

    public static string P(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
}
