using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace TaskServer.Host.Faults;

/// <summary>Configuration section <c>Faults</c>: fault injection for drills and tests, off unless enabled.</summary>
public sealed class FaultOptions
{
    public const string SectionName = "Faults";

    public bool Enabled { get; set; }

    /// <summary>
    /// Faults can crash the node and slow or fail every request: outside Development and Testing they are refused at
    /// start-up unless this second switch says the drills are meant to run there.
    /// </summary>
    public bool AllowInProduction { get; set; }
}

internal sealed class FaultOptionsValidator(IHostEnvironment environment) : IValidateOptions<FaultOptions>
{
    public ValidateOptionsResult Validate(string? name, FaultOptions options) =>
        options.Enabled && !options.AllowInProduction && !environment.IsDevelopment() && !environment.IsEnvironment("Testing")
            ? ValidateOptionsResult.Fail($"Faults:Enabled is refused in the {environment.EnvironmentName} environment unless Faults:AllowInProduction is true as well.")
            : ValidateOptionsResult.Success;
}

/// <summary>The faults in force on this node. Volatile fields: read on every request and attempt, written rarely.</summary>
public sealed class FaultState
{
    private volatile FaultSettings current = FaultSettings.None;

    public FaultSettings Current => current;

    internal void Set(FaultSettings settings) => current = settings;
}

/// <param name="LatencyMs">Added to every request but the fault endpoint itself and /health/live.</param>
/// <param name="ErrorRate">Fraction (0..1) of those requests answered 500 fault-injected.</param>
/// <param name="Incorrect">Handlers that can be verified (hash, echo) return a wrong result.</param>
/// <param name="HeartbeatsPaused">The node stops heartbeating while it keeps working: to its peers it looks dead.</param>
public sealed record FaultSettings(int LatencyMs, double ErrorRate, bool Incorrect, bool HeartbeatsPaused)
{
    public static readonly FaultSettings None = new(0, 0, false, false);
}

/// <summary>
/// <c>POST /admin/faults</c> <c>{"fault": "crash" | "latency" | "error-rate" | "incorrect" | "pause-heartbeats" | "clear", "value": N}</c>.
/// </summary>
public sealed record FaultRequest(
    [property: JsonPropertyName("fault")] string? Fault,
    [property: JsonPropertyName("value")] JsonElement? Value);
