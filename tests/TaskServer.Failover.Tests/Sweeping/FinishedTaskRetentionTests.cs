using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TaskServer.Failover.Leadership;
using TaskServer.Failover.Sweeping;
using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Failover.Tests.Sweeping;

public sealed class FinishedTaskRetentionTests
{
    private static readonly RetentionOptions Settings = new() { FinishedTaskAge = TimeSpan.FromHours(3), BatchSize = 10 };

    [Fact]
    public async Task A_backup_removes_nothing()
    {
        var time = new FakeTimeProvider();
        var store = DeletingStore.Create([10, 10]);

        var removed = await Retention(store, new LeadershipState(time), time).RemoveExpiredAsync(Settings, CancellationToken.None);

        Assert.Equal(0, removed);
        Assert.Empty(((DeletingStore)(object)store).Calls);
    }

    [Fact]
    public async Task The_primary_removes_batch_after_batch_until_one_comes_back_short()
    {
        var time = new FakeTimeProvider();
        var leadership = new LeadershipState(time);
        var now = time.GetUtcNow();
        leadership.Hold(new Lease("gateway-primary", "me", "http://me", 4, now + TimeSpan.FromMinutes(1), now), time.GetTimestamp());
        var store = DeletingStore.Create([10, 10, 3, 10]);

        var removed = await Retention(store, leadership, time).RemoveExpiredAsync(Settings, CancellationToken.None);

        Assert.Equal(23, removed);
        Assert.Equal([(Settings.FinishedTaskAge, 10), (Settings.FinishedTaskAge, 10), (Settings.FinishedTaskAge, 10)], ((DeletingStore)(object)store).Calls);
    }

    [Fact]
    public void The_age_and_interval_are_checked_at_start_up()
    {
        var validator = new RetentionOptionsValidator();

        Assert.True(validator.Validate(Options.DefaultName, new RetentionOptions()).Succeeded);
        Assert.False(validator.Validate(Options.DefaultName, new RetentionOptions { FinishedTaskAge = TimeSpan.Zero }).Succeeded);
        Assert.False(validator.Validate(Options.DefaultName, new RetentionOptions { Interval = TimeSpan.Zero }).Succeeded);
    }

    private static FinishedTaskRetention Retention(ITaskStore store, LeadershipState leadership, TimeProvider time) =>
        new(store, leadership, Options.Create(Settings), time, NullLogger<FinishedTaskRetention>.Instance);

    /// <summary>A task store whose deletes answer the given counts in turn (and record their arguments); nothing else is called.</summary>
    public class DeletingStore : DispatchProxy
    {
        private Queue<int> answers = new();

        public List<(TimeSpan Age, int Limit)> Calls { get; } = [];

        public static ITaskStore Create(int[] answers)
        {
            var store = Create<ITaskStore, DeletingStore>();
            ((DeletingStore)(object)store).answers = new Queue<int>(answers);
            return store;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name != nameof(ITaskStore.DeleteFinishedBeforeAsync) || args is null)
            {
                throw new NotSupportedException(targetMethod?.Name);
            }

            Calls.Add(((TimeSpan)args[0]!, (int)args[1]!));
            return Task.FromResult(answers.Dequeue());
        }
    }
}
