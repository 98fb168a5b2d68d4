using System.Text.Json;
using TaskServer.Drill.Chaos;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Tests;

public sealed class ChaosScheduleTests
{
    private static readonly string[] Workers = ["w1", "w2"];
    private static readonly TimeSpan TenMinutes = TimeSpan.FromMinutes(10);

    [Fact]
    public void The_same_seed_gives_a_byte_identical_schedule()
    {
        var first = ReportWriter.ToJson(FaultSchedule.Generate(1234, TenMinutes, Workers));
        var second = ReportWriter.ToJson(FaultSchedule.Generate(1234, TenMinutes, [.. Workers]));

        Assert.Equal(first, second);
        Assert.True(JsonDocument.Parse(first).RootElement.GetArrayLength() > 50, "ten minutes of chaos hold many faults");
    }

    [Fact]
    public void Different_seeds_give_different_schedules()
    {
        var schedules = Enumerable.Range(1, 20).Select(seed => ReportWriter.ToJson(FaultSchedule.Generate(seed, TenMinutes, Workers))).ToList();

        Assert.Equal(schedules.Count, schedules.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Every_kind_of_fault_is_drawn_and_they_overlap()
    {
        var schedules = Enumerable.Range(1, 5).Select(seed => FaultSchedule.Generate(seed, TenMinutes, Workers)).ToList();

        Assert.Equal(Enum.GetValues<FaultKind>().ToHashSet(), schedules.SelectMany(s => s.Select(f => f.Kind)).ToHashSet());
        Assert.All(schedules, schedule => Assert.Contains(schedule, f => schedule.Any(g => g != f && g.Start >= f.Start && g.Start < f.End)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(42)]
    [InlineData(99)]
    public void Faults_stay_inside_the_run_and_never_share_a_target_while_it_is_held(int seed)
    {
        var duration = TimeSpan.FromSeconds(60);
        var schedule = FaultSchedule.Generate(seed, duration, Workers);

        Assert.All(schedule, f => Assert.InRange(f.Start, 3, f.End));
        Assert.All(schedule, f => Assert.True(f.End <= duration.TotalSeconds, $"{f} ends after the run"));
        Assert.Equal(schedule.OrderBy(f => f.Start), schedule);
        foreach (var target in Workers.Append(FaultSchedule.Primary).Append(FaultSchedule.Database))
        {
            var held = schedule.Where(f => f.Target == target && f.Kind is not (FaultKind.TerminateSessions or FaultKind.CrashTask)).ToList();
            for (var i = 1; i < held.Count; i++)
            {
                Assert.True(held[i].Start >= held[i - 1].End, $"{held[i]} strikes {target} while {held[i - 1]} holds it");
            }
        }

        Assert.All(schedule.Where(f => f.Kind is FaultKind.KillWorker or FaultKind.PauseWorker or FaultKind.WorkerLatency), f => Assert.Contains(f.Target, Workers));
    }

    [Fact]
    public void Without_workers_no_worker_fault_is_drawn()
    {
        var schedule = FaultSchedule.Generate(5, TenMinutes, []);

        Assert.DoesNotContain(schedule, f => f.Kind is FaultKind.KillWorker or FaultKind.PauseWorker or FaultKind.WorkerLatency or FaultKind.RollingRestart);
        Assert.NotEmpty(schedule);
    }

    [Fact]
    public void The_same_seed_gives_the_same_load()
    {
        static string Load(int seed)
        {
            var mix = new ChaosMix(seed, "http://127.0.0.1:9/");
            return ReportWriter.ToJson(Enumerable.Range(0, 500).Select(mix.Next).ToList());
        }

        Assert.Equal(Load(3), Load(3));
        Assert.NotEqual(Load(3), Load(4));
    }

    [Fact]
    public void The_load_mixes_every_kind_with_varied_attempts_and_a_timeout_each()
    {
        var mix = new ChaosMix(11, "http://127.0.0.1:9/");
        var tasks = Enumerable.Range(0, 2000).Select(i => (Spec: mix.Next(i), Task: mix.Of(i))).ToList();

        Assert.Equal(["callback", "echo", "hang", "hash", "sleep"], tasks.Select(t => t.Task.Kind).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal([1, 2, 3, 4, 5], tasks.Select(t => t.Spec.MaxAttempts!.Value).Distinct().Order());
        Assert.All(tasks, t => Assert.NotNull(t.Spec.Timeout));
        Assert.All(tasks.Where(t => t.Task.Kind == ChaosMix.Hang), t =>
        {
            Assert.Equal("sleep", t.Spec.Type);
            Assert.True(t.Task.Payload.GetProperty("ms").GetInt32() > 1000, "a hang sleeps past its 1 s timeout");
            Assert.Equal("1s", t.Spec.Timeout);
        });
    }
}
