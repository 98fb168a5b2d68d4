using System.Text.Json;
using Microsoft.Extensions.Options;
using TaskServer.Host.Api;
using TaskServer.Host.Auth;

namespace TaskServer.Host.Faults;

public static partial class FaultEndpoints
{
    public const string Path = "/admin/faults";

    /// <summary>Maps the fault endpoint and the request faults (latency, error rate) when <c>Faults:Enabled</c>; nothing otherwise.</summary>
    public static void MapFaultInjection(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<FaultOptions>>().Value.Enabled)
        {
            return;
        }

        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            var faults = context.RequestServices.GetRequiredService<FaultState>().Current;
            if (path.StartsWithSegments(Path, StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/health/live", StringComparison.OrdinalIgnoreCase))
            {
                await next();
                return;
            }

            if (faults.LatencyMs > 0)
            {
                await Task.Delay(faults.LatencyMs, context.RequestAborted);
            }

            if (faults.ErrorRate > 0 && Random.Shared.NextDouble() < faults.ErrorRate)
            {
                await Results.Problem(statusCode: ProblemType.FaultInjected.Status, title: "Fault injected.", type: ProblemType.FaultInjected.Urn).ExecuteAsync(context);
                return;
            }

            await next();
        });
        app.MapGet(Path, (HttpRequest request, FaultState state, IOptions<AuthOptions> auth) =>
            AdminCredentials.Refusal(request, auth.Value) ?? Results.Ok(state.Current));
        app.MapPost(Path, Apply);
    }

    private static IResult Apply(FaultRequest body, HttpRequest request, FaultState state, IOptions<AuthOptions> auth, ILogger<FaultState> logger)
    {
        if (AdminCredentials.Refusal(request, auth.Value) is { } refusal)
        {
            return refusal;
        }

        var current = state.Current;
        FaultSettings next;
        switch (body.Fault)
        {
            case "crash":
                LogCrash(logger);
                // An abrupt end, as a machine failing: no graceful shutdown, no lease release.
                Environment.FailFast("fault injected: crash");
                return Results.Empty;
            case "latency" when Number(body.Value) is { } ms && ms is >= 0 and <= 60_000:
                next = current with { LatencyMs = (int)ms };
                break;
            case "error-rate" when Number(body.Value) is { } rate && rate is >= 0 and <= 1:
                next = current with { ErrorRate = rate };
                break;
            case "incorrect":
                next = current with { Incorrect = body.Value?.ValueKind != JsonValueKind.False };
                break;
            case "pause-heartbeats":
                next = current with { HeartbeatsPaused = body.Value?.ValueKind != JsonValueKind.False };
                break;
            case "clear":
                next = FaultSettings.None;
                break;
            default:
                return Problems.InvalidRequest(
                    "'fault' must be crash, latency (value: ms 0-60000), error-rate (value: 0-1), incorrect, pause-heartbeats (value: true/false) or clear.");
        }

        state.Set(next);
        LogFaults(logger, next);
        return Results.Ok(next);
    }

    private static double? Number(JsonElement? value) => value is { ValueKind: JsonValueKind.Number } number ? number.GetDouble() : null;

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "Faults now in force: {Faults}")]
    private static partial void LogFaults(ILogger logger, FaultSettings faults);

    [LoggerMessage(EventId = 601, Level = LogLevel.Critical, Message = "Fault injected: crashing now")]
    private static partial void LogCrash(ILogger logger);
}
