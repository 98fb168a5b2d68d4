using TaskServer.StorageManager.Failovers;

namespace TaskServer.Failover.Tests.Fakes;

internal sealed class FakeFailoverLog : IFailoverLog
{
    public List<FailoverEvent> Events { get; } = [];

    public Task RecordAsync(FailoverEvent failover, CancellationToken cancellationToken)
    {
        Events.Add(failover);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<FailoverEvent>> ListAsync(string leaseName, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<FailoverEvent>>([.. Events.Where(e => e.LeaseName == leaseName).Reverse().Take(limit)]);
}
