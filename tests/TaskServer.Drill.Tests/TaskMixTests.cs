using TaskServer.Drill.Load;

namespace TaskServer.Drill.Tests;

public sealed class TaskMixTests
{
    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(2, 0.5)]
    [InlineData(3, 0.5)]
    [InlineData(4, 0.5)]
    [InlineData(6, 0.5)]
    [InlineData(8, 0.5)]
    [InlineData(3, 2.0 / 3)]
    [InlineData(4, 2.0 / 3)]
    [InlineData(6, 2.0 / 3)]
    public void Round_robin_over_any_number_of_workers_gives_each_both_kinds_near_the_share(int workers, double share)
    {
        const int submissions = 600;
        for (var worker = 0; worker < workers; worker++)
        {
            var mine = Enumerable.Range(0, submissions).Where(i => i % workers == worker).ToList();
            var firstKind = mine.Count(i => TaskMix.IsFirstKind(i, share));
            Assert.InRange(firstKind, mine.Count * (share - 0.2), mine.Count * (share + 0.2));
        }
    }
}
