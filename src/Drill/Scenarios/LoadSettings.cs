using System.Globalization;

namespace TaskServer.Drill.Scenarios;

/// <summary>The steady load of a drill: submissions per second, how many, and how long to wait for them to end.</summary>
internal sealed record LoadSettings(double Rate, int Tasks, TimeSpan DrainTimeout)
{
    /// <summary>The settings as a report lists them.</summary>
    public Dictionary<string, string> Describe() => new()
    {
        ["rate_per_s"] = Rate.ToString(CultureInfo.InvariantCulture),
        ["tasks"] = Tasks.ToString(CultureInfo.InvariantCulture),
        ["drain_timeout_s"] = DrainTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
    };
}
