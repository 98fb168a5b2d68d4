using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TaskServer.Failover.Sweeping;
using TaskServer.Health;
using TaskServer.StorageManager.Failovers;
using TaskServer.StorageManager.Leases;

namespace TaskServer.Failover.Leadership;

/// <summary>
/// Runs on every gateway. The primary renews its lease every RenewInterval while its own components are
/// healthy, and steps down at once when it cannot. A backup probes the primary every ProbeInterval and
/// suspects it after FailureThreshold probes in a row found it down (refused, reset, or not the primary), or
/// when its lease expired; a probe that gets no answer in time is no evidence either way. Suspecting, it tries
/// to take the lease on every tick; the database grants it once the lease has expired or the holder's session is gone.
/// </summary>
internal sealed partial class FailoverAgent(
    ILeaseStore leases,
    IFailoverLog failoverLog,
    LeadershipState leadership,
    PrimaryProbe probe,
    HealthCheckService health,
    SweepTrigger sweepTrigger,
    IOptions<FailoverOptions> options,
    TimeProvider timeProvider,
    ILogger<FailoverAgent> logger) : BackgroundService
{
    private int hardFailures;
    private DateTimeOffset? lastContactAt;
    private DateTimeOffset? suspectedAt;
    private long lastRenewal;
    private Lease? watched;
    private long watchedAt;
    private DateTimeOffset watchedAtUtc;
    private bool readLeaseNext;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.ProbeInterval, timeProvider);
        do
        {
            try
            {
                await TickAsync(settings, stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                if (leadership.CurrentFence is { } fence)
                {
                    leadership.StepDown();
                    LogSteppedDown(fence.Epoch, exception.Message);
                }
                else
                {
                    LogTickFailed(exception);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Hand over at once on a clean shutdown, rather than making the backup wait for the lease to run out.
        if (leadership.CurrentFence is { } fence)
        {
            leadership.StepDown();
            await leases.ReleaseAsync(fence, cancellationToken);
            LogReleased(fence.Epoch);
        }

        await base.StopAsync(cancellationToken);
    }

    internal async Task TickAsync(FailoverOptions settings, CancellationToken cancellationToken)
    {
        if (leadership.TakeLapsedTenure())
        {
            LogLapsed();
        }

        if (leadership.CurrentFence is { } fence)
        {
            if (timeProvider.GetElapsedTime(lastRenewal) >= settings.RenewInterval)
            {
                await RenewAsync(fence, settings, cancellationToken);
            }

            return;
        }

        var lease = await WatchLeaseAsync(settings, cancellationToken);
        if (lease is null || lease.IsExpired)
        {
            if (lease is not null)
            {
                // An expired lease is the database saying its holder stopped renewing: that is the suspicion, even
                // when too few probes had failed yet (a loaded node's ticks run late, and the lease can run out first).
                Suspect(lease, "its lease expired");
            }

            await TryTakeOverAsync(lease, settings, cancellationToken);
            return;
        }

        var outcome = await probe.ProbeAsync(lease.HolderUrl, cancellationToken);
        readLeaseNext = outcome != ProbeOutcome.Primary;
        if (outcome == ProbeOutcome.Primary)
        {
            hardFailures = 0;
            suspectedAt = null;
            Contact(timeProvider.GetUtcNow());
            return;
        }

        // Only hard evidence counts: a refused or reset connection, or an answer that it is not the primary. No answer
        // within ProbeTimeout is what a busy live primary gives too; a silent primary that is really gone stops
        // renewing, and its lease expiring is the evidence against it.
        if (outcome != ProbeOutcome.NoAnswer && ++hardFailures >= settings.FailureThreshold)
        {
            Suspect(lease, $"{hardFailures} probes found it down, the last {outcome}");
        }

        if (suspectedAt is not null)
        {
            await TryTakeOverAsync(lease, settings, cancellationToken);
        }
    }

    /// <summary>
    /// The lease as the backup knows it. While the primary answers its probes, re-reading the lease every tick only
    /// costs the database (four statements a second per backup): it is read every LeaseReadInterval, after any probe
    /// that did not find the primary, and whenever the lease last read may have expired since.
    /// </summary>
    private async Task<Lease?> WatchLeaseAsync(FailoverOptions settings, CancellationToken cancellationToken)
    {
        if (watched is { } known && !readLeaseNext)
        {
            var sinceRead = timeProvider.GetElapsedTime(watchedAt);
            if (sinceRead < settings.LeaseReadInterval && sinceRead < known.Remaining)
            {
                return known;
            }
        }

        var sentAt = timeProvider.GetTimestamp();
        var sentAtUtc = timeProvider.GetUtcNow();
        var lease = await leases.ReadAsync(settings.LeaseName, cancellationToken);
        leadership.Observe(lease);
        if (lease?.Epoch != watched?.Epoch)
        {
            // A new tenure is a new primary: it earns suspicion with its own failed probes, not its predecessor's.
            hardFailures = 0;
            suspectedAt = null;
            lastContactAt = null;
        }
        else if (lease is not null && lease.ExpiresAt > watched!.ExpiresAt)
        {
            // The holder renewed after the previous read began: it was alive then, whether or not it answers probes.
            Contact(watchedAtUtc);
        }

        watched = lease;
        watchedAt = sentAt;
        watchedAtUtc = sentAtUtc;
        readLeaseNext = false;
        return lease;
    }

    private void Contact(DateTimeOffset at)
    {
        if (lastContactAt is null || at > lastContactAt)
        {
            lastContactAt = at;
        }
    }

    /// <summary>Dates the suspicion of the lease's holder the first time there is evidence against it; later evidence keeps that date.</summary>
    private void Suspect(Lease lease, string evidence)
    {
        if (suspectedAt is null)
        {
            suspectedAt = timeProvider.GetUtcNow();
            LogSuspected(lease.Holder, lease.Epoch, evidence);
        }
    }

    /// <summary>
    /// Renews first and judges the node's own health alongside: the renewal runs on the lease's own connection
    /// and must not queue behind checks that wait for pooled connections under load. An unhealthy primary
    /// still steps down and releases the lease within the same tick.
    /// </summary>
    private async Task RenewAsync(Fence fence, FailoverOptions settings, CancellationToken cancellationToken)
    {
        var ownHealth = OwnHealthAsync(settings, cancellationToken);
        var sentAt = timeProvider.GetTimestamp();
        var renewed = await leases.TryRenewAsync(fence, settings.LeaseTtl, cancellationToken);
        if (!renewed.Succeeded)
        {
            leadership.StepDown();
            LogSteppedDown(fence.Epoch, "renewal refused: the lease expired or a newer epoch was granted");
            await ownHealth;
            return;
        }

        var report = await ownHealth;
        if (report?.Status == HealthStatus.Unhealthy)
        {
            leadership.StepDown();
            LogSteppedDown(fence.Epoch, "own readiness failed: " + string.Join("; ", report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy).Select(e => e.Value.Description)));
            await leases.ReleaseAsync(fence, cancellationToken);
            return;
        }

        leadership.Hold(renewed.Lease!, sentAt);
        lastRenewal = sentAt;
    }

    /// <summary>
    /// The node's own components (the worker-tagged checks), or null when they do not answer within
    /// RenewInterval. Under load the checks wait for a pooled database connection; a check that is slow has not
    /// said the node is unhealthy, and the renewal, on the lease's own connection, shows the database answers.
    /// </summary>
    private async Task<HealthReport?> OwnHealthAsync(FailoverOptions settings, CancellationToken cancellationToken)
    {
        using var budget = new CancellationTokenSource(settings.RenewInterval, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        try
        {
            return await health.CheckHealthAsync(check => check.Tags.Contains(HealthTags.Worker), linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogOwnHealthSlow(settings.RenewInterval);
            return null;
        }
    }

    private async Task TryTakeOverAsync(Lease? previous, FailoverOptions settings, CancellationToken cancellationToken)
    {
        // A node whose own components are unhealthy must not take the lease (it would step down again at once).
        var own = await OwnHealthAsync(settings, cancellationToken);
        if (own?.Status == HealthStatus.Unhealthy)
        {
            return;
        }

        var sentAt = timeProvider.GetTimestamp();
        var acquired = await leases.TryAcquireAsync(settings.LeaseName, settings.NodeId, settings.NodeUrl, settings.LeaseTtl, cancellationToken);
        if (!acquired.Succeeded)
        {
            return;
        }

        var lease = acquired.Lease!;
        leadership.Hold(lease, sentAt);
        lastRenewal = sentAt;
        sweepTrigger.Fire();
        var promotedAt = timeProvider.GetUtcNow();
        LogPromoted(lease.Epoch, previous?.Holder);
        await failoverLog.RecordAsync(
            new FailoverEvent(Guid.NewGuid(), settings.LeaseName, previous?.Holder, settings.NodeId, lease.Epoch, lastContactAt, suspectedAt, promotedAt),
            cancellationToken);
        hardFailures = 0;
        suspectedAt = null;
        lastContactAt = null;
        watched = null;
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "Primary {Holder} at epoch {Epoch} suspected: {Evidence}")]
    private partial void LogSuspected(string holder, long epoch, string evidence);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Promoted to primary at epoch {Epoch} (previous holder {PreviousHolder})")]
    private partial void LogPromoted(long epoch, string? previousHolder);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "Stepped down from epoch {Epoch}: {Reason}")]
    private partial void LogSteppedDown(long epoch, string reason);

    [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "Released the lease of epoch {Epoch} on shutdown")]
    private partial void LogReleased(long epoch);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "The lease lapsed without a renewal (was this process paused?): now a backup")]
    private partial void LogLapsed();

    [LoggerMessage(EventId = 406, Level = LogLevel.Information, Message = "Own health checks gave no answer within {Budget}; acting on the lease without them")]
    private partial void LogOwnHealthSlow(TimeSpan budget);

    [LoggerMessage(EventId = 404, Level = LogLevel.Warning, Message = "Failover agent tick failed")]
    private partial void LogTickFailed(Exception exception);
}
