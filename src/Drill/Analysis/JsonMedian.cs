using System.Text.Json;
using System.Text.Json.Nodes;

namespace TaskServer.Drill.Analysis;

/// <summary>
/// The median of several reports of one shape, field by field: a number is the lower median of the runs'
/// numbers (nearest rank, so always a value one run measured; nulls left out), an object is the median of its
/// fields, anything else (text, lists) is the first run's.
/// </summary>
internal static class JsonMedian
{
    public static JsonNode? Of(IReadOnlyList<JsonNode?> nodes)
    {
        if (nodes.Count == 0)
        {
            return null;
        }

        var present = nodes.Where(n => n is not null).ToList();
        if (present.Count > 0 && present.All(n => n!.GetValueKind() == JsonValueKind.Number))
        {
            var sorted = present.Select(n => n!.GetValue<double>()).Order().ToList();
            return JsonValue.Create(sorted[(sorted.Count - 1) / 2]);
        }

        if (present.Count == nodes.Count && present.All(n => n is JsonObject))
        {
            var median = new JsonObject();
            foreach (var (key, _) in (JsonObject)nodes[0]!)
            {
                median[key] = Of([.. nodes.Select(n => ((JsonObject)n!)[key])]);
            }

            return median;
        }

        return nodes[0]?.DeepClone();
    }
}
