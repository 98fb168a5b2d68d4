using System.Text.Json.Serialization;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Load;

namespace TaskServer.Drill.Reports;

/// <summary>What every report opens with: what ran, on what, by which command line, when, with which settings.</summary>
internal sealed record ReportHeader(string Scenario, string Storage, string Command, DateTimeOffset StartedAt, double DurationS, MachineInfo Machine, IReadOnlyDictionary<string, string> Settings)
{
    /// <summary>The header of a run that started at <paramref name="clock"/>'s start and ends now.</summary>
    public static ReportHeader Of(string scenario, DrillContext context, RunClock clock, IReadOnlyDictionary<string, string> settings) =>
        new(scenario, context.Env.StorageProvider, context.Command, clock.StartedAt, Math.Round(clock.NowMs / 1000, 1), context.Machine, settings);
}

/// <summary>
/// A report whose header fields lead its report.json (scenario, storage, command, started_at, duration_s,
/// machine, settings), as every drill and the bench have always written them.
/// </summary>
internal abstract record Report([property: JsonIgnore] ReportHeader Header)
{
    [JsonPropertyOrder(-7)]
    public string Scenario => Header.Scenario;

    [JsonPropertyOrder(-6)]
    public string Storage => Header.Storage;

    [JsonPropertyOrder(-5)]
    public string Command => Header.Command;

    [JsonPropertyOrder(-4)]
    public DateTimeOffset StartedAt => Header.StartedAt;

    [JsonPropertyOrder(-3)]
    public double DurationS => Header.DurationS;

    [JsonPropertyOrder(-2)]
    public MachineInfo Machine => Header.Machine;

    [JsonPropertyOrder(-1)]
    public IReadOnlyDictionary<string, string> Settings => Header.Settings;
}
