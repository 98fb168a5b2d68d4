using System.Text.Json;
using System.Text.Json.Nodes;

namespace TaskServer.Host.Faults;

/// <summary>
/// <c>crash</c>: ends the worker's process abruptly once its attempt has run a moment, as a handler that brings its
/// host down would (a native crash, the kernel's out-of-memory killer). The randomized fault harness submits it to
/// strike whichever worker the balancer picks, and every worker the task is requeued onto after that.
/// </summary>
internal sealed partial class CrashHandler(TimeProvider timeProvider, ILogger<CrashHandler> logger) : ITaskHandler
{
    // Not at once: the attempts the drain runs beside this one are then mid-flight when the process dies, as they
    // would be when a real handler crashes its host.
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(200);

    public string Type => "crash";

    public string? Validate(JsonElement payload) => null;

    public async Task<JsonNode?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        await Task.Delay(Delay, timeProvider, cancellationToken);
        LogCrashing(logger, context.TaskId, context.Attempt);

        // No graceful shutdown, no outcome written, no lease released: the primary's sweeper has to find the attempt.
        Environment.FailFast($"crash task {context.TaskId}, attempt {context.Attempt}");
        return null;
    }

    [LoggerMessage(EventId = 602, Level = LogLevel.Critical, Message = "Crash task {TaskId} (attempt {Attempt}): ending the process now")]
    private static partial void LogCrashing(ILogger logger, Guid taskId, int attempt);
}

public static class CrashHandlerServiceCollectionExtensions
{
    /// <summary>Adds the <c>crash</c> task type where <c>Faults:Enabled</c> is set; nowhere else can a client end a worker.</summary>
    public static IServiceCollection AddCrashTaskWhenFaultsEnabled(this IServiceCollection services, IConfiguration configuration) =>
        configuration.GetSection(FaultOptions.SectionName).Get<FaultOptions>()?.Enabled == true
            ? services.AddTaskHandler<CrashHandler>()
            : services;
}
