using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using OpenTelemetry.Trace;
using TaskServer.Client;
using TaskServer.Testing;

namespace TaskServer.Host.Tests.Telemetry;

/// <summary>
/// One task is one trace: a gateway and a worker, each a real node on its own loopback port talking HTTP, composed
/// in this process so an in-memory exporter sees every span both produce.
/// </summary>
public sealed class TaskTraceTests
{
    [Fact]
    public async Task A_task_submitted_through_the_gateway_is_one_trace_from_the_client_to_its_attempt()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var spans = new List<Activity>();
        await using var database = await PostgresDatabase.CreateAsync();
        await using var worker = Node(database, "Worker", "traced-worker", spans);
        await using var gateway = Node(database, "Gateway", "traced-gateway", spans);
        await worker.StartAsync(cancellationToken);
        await gateway.StartAsync(cancellationToken);
        var gatewayUrl = gateway.Urls.First();
        var options = new TaskServerClientOptions { ApiKey = InProcessNode.ApiKey, MaxAttempts = 2 };
        options.Gateways.Add(new Uri(gatewayUrl));
        using var client = new TaskServerClient(options);

        TaskInfo? submitted = null;
        await Eventually.HoldsAsync(
            async () =>
            {
                try
                {
                    submitted = await client.SubmitAsync("echo", new { traced = true }, cancellationToken: cancellationToken);
                    return true;
                }
                catch (TaskServerException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(60),
            "the gateway to hold the lease and route to the worker");
        TaskInfo task;
        try
        {
            task = await client.WaitAsync(submitted!.Id, cancellationToken: cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }
        catch (TimeoutException)
        {
            // Seen once in a full CI run: say where the task and the nodes stood, so a stall can be found.
            var row = await database.ScalarAsync(
                $"SELECT status || ' attempt ' || attempt || ' worker ' || coalesce(worker, '-') || ' due ' || coalesce(due_at::text, '-') FROM taskserver.tasks WHERE id = '{submitted!.Id}'");
            var nodes = await database.ScalarAsync("SELECT string_agg(node_id || ' age ' || (clock_timestamp() - last_seen)::text, '; ') FROM taskserver.nodes");
            throw new Xunit.Sdk.XunitException($"task {submitted.Id} not final after 60 s: {row}; nodes: {nodes}");
        }

        Assert.Equal("Succeeded", task.Status);
        Assert.Matches("^[0-9a-f]{32}$", task.TraceId);
        var trace = ActivityTraceId.CreateFromString(task.TraceId);
        await Eventually.HoldsAsync(
            () => Task.FromResult(Snapshot(spans).Any(s => s.TraceId == trace && s.OperationName == "task.attempt")),
            TimeSpan.FromSeconds(10),
            "the attempt's span to end");
        var inTrace = Snapshot(spans).Where(s => s.TraceId == trace).DistinctBy(s => s.SpanId).ToList();
        var bySpan = inTrace.ToDictionary(s => s.SpanId);

        // A client that retried under load leaves more than one gateway and intake span in the trace (the replay
        // answers with the stored task); the chain is followed from the attempt upwards, not counted.
        var attempt = Assert.Single(inTrace, s => s.Source.Name == TaskTracing.SourceName);
        var intake = bySpan[attempt.ParentSpanId];
        Assert.Equal((ActivityKind.Server, "/internal/tasks"), (intake.Kind, Path(intake)));
        var gatewayServer = Assert.Single(inTrace, s => s.Kind == ActivityKind.Server && Path(s) == "/tasks" && IsAncestor(s, intake, bySpan));
        Assert.Contains(inTrace, s => s.Source.Name == "Yarp.ReverseProxy" && IsAncestor(gatewayServer, s, bySpan) && IsAncestor(s, intake, bySpan));
        Assert.Contains(inTrace, s => s.Source.Name == TaskServerClient.ActivitySourceName && IsAncestor(s, gatewayServer, bySpan));

        Assert.Equal(task.Id.ToString(), attempt.GetTagItem("task.id"));
        Assert.Equal(1, attempt.GetTagItem("task.attempt"));

        await gateway.StopAsync(cancellationToken);
        await worker.StopAsync(cancellationToken);
    }

    private static List<Activity> Snapshot(List<Activity> spans)
    {
        lock (spans)
        {
            return [.. spans];
        }
    }

    private static string? Path(Activity span) => span.GetTagItem("url.path") as string;

    private static bool IsAncestor(Activity ancestor, Activity span, Dictionary<ActivitySpanId, Activity> bySpan)
    {
        var parent = span.ParentSpanId;
        while (parent != default)
        {
            if (parent == ancestor.SpanId)
            {
                return true;
            }

            parent = bySpan.TryGetValue(parent, out var next) ? next.ParentSpanId : default;
        }

        return false;
    }

    private static WebApplication Node(PostgresDatabase database, string role, string name, List<Activity> spans) =>
        InProcessNode.Build(
            database,
            role,
            name,
            // Both nodes listen to every span of this process; the assertions tell them apart by trace and by path.
            services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(TaskServerClient.ActivitySourceName).AddInMemoryExporter(new LockedList(spans))),
            ("LoadBalancing:HealthProbeInterval", "00:00:00.300"));

    /// <summary>The exporter appends from whichever thread ends a span; the test reads a snapshot.</summary>
    private sealed class LockedList(List<Activity> inner) : ICollection<Activity>
    {
        public int Count => Snapshot(inner).Count;

        public bool IsReadOnly => false;

        public void Add(Activity item)
        {
            lock (inner)
            {
                inner.Add(item);
            }
        }

        public void Clear()
        {
            lock (inner)
            {
                inner.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot(inner).Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot(inner).CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (inner)
            {
                return inner.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot(inner).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
