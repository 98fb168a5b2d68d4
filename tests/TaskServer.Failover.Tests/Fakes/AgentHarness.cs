using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TaskServer.Failover.Leadership;
using TaskServer.Failover.Sweeping;
using TaskServer.Health;

namespace TaskServer.Failover.Tests.Fakes;

/// <summary>One gateway's <see cref="FailoverAgent"/> with its store, failover log, probe target and own health checks faked in memory.</summary>
internal sealed class AgentHarness : IDisposable
{
    public const string Me = "me";
    public const string MeUrl = "http://me:5000";

    private readonly ServiceProvider services;

    public AgentHarness()
    {
        Store = new FakeLeaseStore(Clock);
        Leadership = new LeadershipState(Clock);
        services = new ServiceCollection()
            .AddLogging()
            .AddHealthChecks()
            .AddAsyncCheck("db", OwnComponentsAsync, tags: [HealthTags.Ready, HealthTags.Worker])
            // In /health/ready of a gateway, but not one of the node's own components.
            .AddCheck("some-worker", () => SomeWorkerHealthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("no healthy worker"), tags: [HealthTags.Ready])
            .Services
            .BuildServiceProvider();
        var options = Options.Create(Settings);
        Agent = new FailoverAgent(
            Store,
            Log,
            Leadership,
            new PrimaryProbe(Primary, options, Clock),
            services.GetRequiredService<HealthCheckService>(),
            Trigger,
            options,
            Clock,
            Logger);
    }

    public FakeTimeProvider Clock { get; } = new();

    public FakeLeaseStore Store { get; }

    public FakeFailoverLog Log { get; } = new();

    public StubPrimary Primary { get; } = new();

    public SweepTrigger Trigger { get; } = new();

    public LeadershipState Leadership { get; }

    public RecordingLogger<FailoverAgent> Logger { get; } = new();

    public FailoverOptions Settings { get; } = new() { NodeId = Me, NodeUrl = MeUrl };

    public FailoverAgent Agent { get; }

    /// <summary>The "worker"-tagged checks: the node's own database and components.</summary>
    public bool OwnComponentsHealthy { get; set; } = true;

    public bool SomeWorkerHealthy { get; set; } = true;

    /// <summary>The own checks wait until cancelled, as they do for a pooled connection under load.</summary>
    public bool OwnComponentsHang { get; set; }

    /// <summary>True when the sweeper has been woken (consumes the wake-up).</summary>
    public bool SweepWasTriggered => Trigger.WaitAsync(TimeSpan.FromHours(1), Clock, CancellationToken.None).IsCompletedSuccessfully;

    public Task TickAsync() => Agent.TickAsync(Settings, TestContext.Current.CancellationToken);

    /// <summary>
    /// Ticks as the agent's timer would: a tick, then ProbeInterval passes. A probe of a silent primary takes
    /// ProbeTimeout of that interval to give up.
    /// </summary>
    public async Task TicksAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var tick = TickAsync();
            var waited = TimeSpan.Zero;
            // Waiting to read consumes nothing: a wait left over from a tick that never probed a silent primary is harmless.
            var silentProbe = Primary.SilentRequests.WaitToReadAsync(TestContext.Current.CancellationToken).AsTask();
            if (await Task.WhenAny(tick, silentProbe) == silentProbe && Primary.SilentRequests.TryRead(out _))
            {
                waited = Settings.ProbeTimeout;
                Clock.Advance(waited);
            }

            await tick.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Clock.Advance(Settings.ProbeInterval - waited);
        }
    }

    private async Task<HealthCheckResult> OwnComponentsAsync(CancellationToken cancellationToken)
    {
        if (OwnComponentsHang)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }

        return OwnComponentsHealthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("database unreachable");
    }

    public bool Logged(int eventId) => Logger.Events.Exists(e => e.Id == eventId);

    public void Dispose()
    {
        Agent.Dispose();
        Primary.Dispose();
        services.Dispose();
    }
}
