using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace TaskServer.Drill.Load;

/// <summary>
/// A loopback HTTP endpoint that counts the side effects of <c>callback</c> tasks: every call made by
/// every attempt ({id, attempt}) and when it landed, so a drill can tell a repeated side effect from a
/// retried attempt, and a side effect of an attempt the server had already given up on.
/// </summary>
/// <remarks>
/// Arrivals are dated on the wall clock: the workers call a loopback address, so they and the database they date
/// tasks with run on this machine's clock too.
/// </remarks>
internal sealed class CallbackSink : IAsyncDisposable
{
    private readonly HttpListener listener = new();
    private readonly ConcurrentDictionary<Guid, ConcurrentQueue<CallbackCall>> calls = new();
    private readonly TimeProvider time;
    private readonly Task loop;

    private CallbackSink(int port, TimeProvider time)
    {
        this.time = time;
        Url = $"http://127.0.0.1:{port}/";
        listener.Prefixes.Add(Url);
        listener.Start();
        loop = ServeAsync();
    }

    public string Url { get; }

    public static CallbackSink Start(TimeProvider time) => new(FreePort(), time);

    /// <summary>The attempt numbers that called back, per task, in arrival order.</summary>
    public IReadOnlyDictionary<Guid, IReadOnlyList<int>> Calls() =>
        calls.ToDictionary(c => c.Key, c => (IReadOnlyList<int>)[.. c.Value.Select(call => call.Attempt)]);

    /// <summary>Every call per task, in arrival order, with when it landed.</summary>
    public IReadOnlyDictionary<Guid, IReadOnlyList<CallbackCall>> Arrivals() =>
        calls.ToDictionary(c => c.Key, c => (IReadOnlyList<CallbackCall>)[.. c.Value]);

    public async ValueTask DisposeAsync()
    {
        listener.Close();
        await loop;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = RecordAsync(context);
        }
    }

    private async Task RecordAsync(HttpListenerContext context)
    {
        try
        {
            context.Response.StatusCode = await ReadCallAsync(context.Request) ? (int)HttpStatusCode.NoContent : (int)HttpStatusCode.BadRequest;
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The caller went away mid-request (a worker killed by the drill), or the sink is closing.
        }
    }

    private async Task<bool> ReadCallAsync(HttpListenerRequest request)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.InputStream);
            var id = document.RootElement.GetProperty("id").GetGuid();
            var attempt = document.RootElement.GetProperty("attempt").GetInt32();

            // When the worker made the call, by its clock (the same machine's): the moment this side effect happened.
            // Arrival says when this process got round to it, seconds later on a starved machine, which would make a
            // call sent well within its attempt look like one made after it.
            var madeAt = document.RootElement.TryGetProperty("sentAt", out var sentAt) ? sentAt.GetDateTimeOffset() : time.GetUtcNow();
            calls.GetOrAdd(id, _ => new ConcurrentQueue<CallbackCall>()).Enqueue(new CallbackCall(attempt, madeAt));
            return true;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }
}

/// <summary>One side effect of a callback task: which attempt made it and when (the worker's clock when it says, else arrival).</summary>
internal sealed record CallbackCall(int Attempt, DateTimeOffset At);
