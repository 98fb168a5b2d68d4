using System.Text.Json;

namespace TaskServer.Drill.Reports;

/// <summary>Names as report.json spells them (kill_worker, attempts_over_max), for every rendering and the console alike.</summary>
internal static class SnakeCase
{
    public static string Name(this Enum value) => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());
}
