using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TaskServer.Drill.Load;

namespace TaskServer.Drill.Chaos;

/// <summary>
/// The chaos load's tasks, drawn from the seed (a stream of its own, so the load does not shift the fault schedule):
/// echo and hash tasks whose results the checker recomputes, callback tasks whose side effects the sink dates, short
/// sleeps, and a few sleeps that outlast their per-attempt timeout ("hang"). Each asks for 1-5 attempts and a timeout.
/// </summary>
internal sealed class ChaosMix(int seed, string callbackUrl)
{
    public const string Hang = "hang";

    private static readonly string[] Timeouts = ["5s", "10s", "30s"];

    // Shares out of 100; a hang holds a worker slot for seconds, so it stays rare.
    private static readonly (string Kind, int Share)[] Shares = [("echo", 30), ("hash", 25), ("callback", 30), ("sleep", 12), (Hang, 3)];

    private readonly Random random = new(unchecked(seed * -1640531535));
    private readonly ConcurrentDictionary<int, MixedTask> drawn = new();

    /// <summary>Submission <paramref name="index"/>'s task; the load asks in order, so the same seed gives the same load.</summary>
    public TaskSpec Next(int index)
    {
        var task = Draw(index);
        drawn[index] = task;
        return task.Spec;
    }

    /// <summary>What submission <paramref name="index"/> was, for the checker.</summary>
    public MixedTask Of(int index) => drawn[index];

    private MixedTask Draw(int index)
    {
        var kind = Weighted.Pick(random, Shares, s => s.Share).Kind;
        var maxAttempts = random.Next(1, 6);
        var timeout = Timeouts[random.Next(Timeouts.Length)];
        var tag = string.Create(CultureInfo.InvariantCulture, $"chaos-{seed}-{index}");
        var (type, payload) = kind switch
        {
            "echo" => ("echo", new JsonObject { ["tag"] = tag, ["n"] = random.Next(), ["list"] = new JsonArray(1, "two", null, true) }),
            "hash" => ("hash", new JsonObject { ["data"] = tag, ["rounds"] = random.Next(1, 2_001) }),
            "callback" => ("callback", new JsonObject { ["url"] = callbackUrl }),
            "sleep" => ("sleep", new JsonObject { ["ms"] = random.Next(10, 501) }),
            _ => ("sleep", new JsonObject { ["ms"] = random.Next(2_000, 5_001) }),
        };

        // A hang sleeps 2-5 s against a 1 s timeout: every attempt should be cut off, none should run on.
        if (kind == Hang)
        {
            timeout = "1s";
        }

        var element = JsonSerializer.SerializeToElement(payload);
        return new MixedTask(kind, new TaskSpec(type, element, maxAttempts, timeout));
    }
}

/// <summary>One task of the chaos load: its kind ("hang" is a sleep past its timeout) and what was sent.</summary>
internal sealed record MixedTask(string Kind, TaskSpec Spec)
{
    public JsonElement Payload => (JsonElement)Spec.Payload;
}
