using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TaskServer.Failover.Leadership;
using TaskServer.Failover.Sweeping;
using TaskServer.Health;

namespace TaskServer.Failover;

public static class FailoverServiceCollectionExtensions
{
    /// <summary>
    /// The failover agent, the sweeper and the retention of a gateway (the caller binds <see cref="RetentionOptions"/>), and its <see cref="IPrimaryStatus"/>. The caller binds
    /// <see cref="FailoverOptions"/> (with the node's id, URL, worker timeout and retry backoff).
    /// </summary>
    public static IServiceCollection AddFailover(this IServiceCollection services)
    {
        services.AddOptions<FailoverOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<FailoverOptions>, FailoverOptionsValidator>();
        services.AddSingleton<LeadershipState>();
        services.AddSingleton<IPrimaryStatus>(provider => provider.GetRequiredService<LeadershipState>());
        services.AddSingleton<SweepTrigger>();
        services.AddSingleton<PrimaryProbe>();
        services.AddHttpClient(PrimaryProbe.HttpClientName);
        services.AddHostedService<FailoverAgent>();
        services.AddHostedService<Sweeper>();
        services.AddOptions<RetentionOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>();
        services.AddHostedService<FinishedTaskRetention>();
        return services;
    }
}
