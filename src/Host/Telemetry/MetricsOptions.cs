namespace TaskServer.Host.Telemetry;

/// <summary>Configuration section <c>Metrics</c>.</summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Metrics";

    /// <summary>When set, <c>/metrics</c> answers only <c>Authorization: Bearer &lt;Key&gt;</c> (Prometheus' <c>authorization</c> setting).</summary>
    public string Key { get; set; } = "";
}
