using System.Collections.Concurrent;
using Spectre.Console;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Load;

namespace TaskServer.Drill.Chaos;

/// <summary>What happened during a chaos run, as it happened: strikes, undos, restarts, faults that could not run.</summary>
internal sealed class ChaosLog(DrillContext context, RunClock clock)
{
    private readonly ConcurrentQueue<ChaosEvent> events = new();

    /// <summary>Seconds since the load started, as the schedule counts them.</summary>
    public double Now => Math.Round(clock.NowMs / 1000, 2);

    public void Add(string text)
    {
        events.Enqueue(new ChaosEvent(Now, text));
        context.Log($"[grey]{Now,7:0.00} s[/] {Markup.Escape(text)}");
    }

    public IReadOnlyList<ChaosEvent> Events => [.. events.OrderBy(e => e.At)];
}

/// <param name="At">Seconds since the load started.</param>
internal sealed record ChaosEvent(double At, string Text);
