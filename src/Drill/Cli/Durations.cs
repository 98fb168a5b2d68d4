using System.Globalization;
using TaskServer.Execution;

namespace TaskServer.Drill.Cli;

/// <summary>
/// Durations on a command line: whatever the server takes for a task's timeout (500ms, 20s, 1.5s, 2m, PT30S), or a
/// TimeSpan (00:02:00); only positive ones.
/// </summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan duration) =>
        (DurationText.TryParse(text, out duration) || TimeSpan.TryParse(text.Trim(), CultureInfo.InvariantCulture, out duration))
        && duration > TimeSpan.Zero;
}
