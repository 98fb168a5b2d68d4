using System.Globalization;
using System.Xml;

namespace TaskServer.Execution;

/// <summary>
/// Durations as clients write them: ISO 8601 (<c>PT30S</c>, <c>PT5M</c>) or a number with a unit (<c>500ms</c>,
/// <c>30s</c>, <c>2m</c>, <c>1h</c>). Written back as ISO 8601.
/// </summary>
public static class DurationText
{
    private static readonly (string Suffix, double Milliseconds)[] Units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)];

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        if (text.StartsWith('P'))
        {
            try
            {
                duration = XmlConvert.ToTimeSpan(text);
                return true;
            }
            catch (FormatException)
            {
                return false;
            }
            catch (OverflowException)
            {
                return false;
            }
        }

        foreach (var (suffix, milliseconds) in Units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
                && amount * milliseconds is var total && total <= TimeSpan.MaxValue.TotalMilliseconds)
            {
                duration = TimeSpan.FromMilliseconds(total);
                return true;
            }
        }

        return false;
    }

    public static string Format(TimeSpan duration) => XmlConvert.ToString(duration);
}
