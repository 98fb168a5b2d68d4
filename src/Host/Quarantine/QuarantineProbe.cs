using Microsoft.Extensions.Options;

namespace TaskServer.Host.Quarantine;

/// <summary>
/// While the worker is quarantined, every <see cref="QuarantineOptions.ProbeInterval"/> it runs each verifiable handler
/// on that handler's canary payload and verifies the result; when all pass it leaves quarantine. The canaries run the
/// same code as tasks, so a worker that still computes wrong results (the "incorrect" fault still on) stays out.
/// </summary>
internal sealed partial class QuarantineProbe(
    ResultQuarantine quarantine,
    TaskHandlers handlers,
    IOptions<QuarantineOptions> options,
    TimeProvider timeProvider,
    ILogger<QuarantineProbe> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ProbeInterval, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!quarantine.IsQuarantined)
            {
                continue;
            }

            var failure = await CheckCanariesAsync(stoppingToken);
            if (failure is null)
            {
                quarantine.Release();
                LogReleased();
            }
            else
            {
                LogStillQuarantined(failure);
            }
        }
    }

    /// <summary>Runs every canary; the first failure, or null when every result verified.</summary>
    internal async Task<string?> CheckCanariesAsync(CancellationToken cancellationToken)
    {
        foreach (var type in handlers.Types)
        {
            if (handlers.Find(type) is not { } handler || handler is not IVerifiesResults verifier)
            {
                continue;
            }

            try
            {
                var context = new TaskExecutionContext(Guid.Empty, 1, 1, verifier.Canary);
                var result = await handler.ExecuteAsync(context, cancellationToken);
                if (verifier.Verify(verifier.Canary, result) is { } error)
                {
                    return $"{type}: {error}";
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                return $"{type}: {exception.GetType().Name}: {exception.Message}";
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 130, Level = LogLevel.Warning, Message = "Canary computations verified again: this worker leaves quarantine")]
    private partial void LogReleased();

    [LoggerMessage(EventId = 131, Level = LogLevel.Information, Message = "Still quarantined: a canary failed verification ({Failure})")]
    private partial void LogStillQuarantined(string failure);
}
