using Microsoft.Extensions.Options;

namespace TaskServer.Host.Telemetry;

/// <summary>Configuration section <c>Telemetry</c>: where traces go. Nothing leaves the node unless an endpoint is set.</summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";

    /// <summary>An OTLP collector (gRPC, e.g. http://127.0.0.1:4317, or HTTP/protobuf on .../v1/traces); empty: no export.</summary>
    public string OtlpEndpoint { get; set; } = "";

    /// <summary>Names this node's spans in the collector.</summary>
    public string ServiceName { get; set; } = "taskserver";
}

internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        if (options.OtlpEndpoint.Length > 0
            && (!Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            return ValidateOptionsResult.Fail($"Telemetry:OtlpEndpoint must be an absolute http or https URL, or empty to export nothing (was '{options.OtlpEndpoint}').");
        }

        return string.IsNullOrWhiteSpace(options.ServiceName)
            ? ValidateOptionsResult.Fail("Telemetry:ServiceName is required.")
            : ValidateOptionsResult.Success;
    }
}
