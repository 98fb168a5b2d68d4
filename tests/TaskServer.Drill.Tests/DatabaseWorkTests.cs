using TaskServer.Drill.Bench;

namespace TaskServer.Drill.Tests;

public sealed class DatabaseWorkTests
{
    [Fact]
    public void Per_task_figures_with_and_without_the_idle_background()
    {
        // Idle: 100 statements and 20 commits in 5 s (20/s and 4/s). Phase: 10 s, 1000 tasks,
        // 60,200 statements and 30,040 commits, of which 200 and 40 are background.
        var idleBefore = new DatabaseCounters(0, 1_000, 500, 7_000, null);
        var idleAfter = new DatabaseCounters(5_000, 1_100, 520, 7_010, null);
        var after = new DatabaseCounters(15_000, 61_300, 30_560, 27_010, null);

        var work = DatabaseWork.Of(idleBefore, idleAfter, after, tasks: 1000);

        Assert.NotNull(work);
        Assert.Equal(60.2, work.StatementsPerTask);
        Assert.Equal(30, work.CommitsPerTask);
        Assert.Equal(20, work.WriteTransactionsPerTask);
        Assert.Equal(60, work.NetStatementsPerTask);
        Assert.Equal(30, work.NetCommitsPerTask);
        Assert.Equal(20, work.BackgroundStatementsPerS);
        Assert.Equal(4, work.BackgroundCommitsPerS);
    }

    [Fact]
    public void Without_pg_stat_statements_only_commits_are_given()
    {
        var work = DatabaseWork.Of(new DatabaseCounters(0, null, 0, 0, "not preloaded"), new DatabaseCounters(1_000, null, 10, 5, "not preloaded"), new DatabaseCounters(2_000, null, 110, 55, "not preloaded"), tasks: 10);

        Assert.NotNull(work);
        Assert.Null(work.StatementsPerTask);
        Assert.Null(work.NetStatementsPerTask);
        Assert.Null(work.BackgroundStatementsPerS);
        Assert.Equal(10, work.CommitsPerTask);
        Assert.Equal(9, work.NetCommitsPerTask);
    }

    [Fact]
    public void No_task_no_figure() =>
        Assert.Null(DatabaseWork.Of(new DatabaseCounters(0, 0, 0, 0, null), new DatabaseCounters(1, 0, 0, 0, null), new DatabaseCounters(2, 0, 0, 0, null), tasks: 0));
}
