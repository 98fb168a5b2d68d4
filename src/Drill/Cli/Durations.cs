using System.Globalization;

namespace TaskServer.Drill.Cli;

/// <summary>Durations as people type them on a command line: 500ms, 20s, 2m, 1.5s, or 00:02:00.</summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        text = text.Trim();
        (string Suffix, double Ms)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)];
        foreach (var (suffix, ms) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                duration = TimeSpan.FromMilliseconds(amount * ms);
                return duration > TimeSpan.Zero;
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration) && duration > TimeSpan.Zero;
    }
}
