using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace TaskServer.Drill.Load;

/// <summary>
/// A loopback HTTP endpoint that counts the side effects of <c>callback</c> tasks: every call made by
/// every attempt ({id, attempt}), so a drill can tell a repeated side effect from a retried attempt.
/// </summary>
internal sealed class CallbackSink : IAsyncDisposable
{
    private readonly HttpListener listener = new();
    private readonly ConcurrentDictionary<Guid, ConcurrentQueue<int>> calls = new();
    private readonly Task loop;

    private CallbackSink(int port)
    {
        Url = $"http://127.0.0.1:{port}/";
        listener.Prefixes.Add(Url);
        listener.Start();
        loop = ServeAsync();
    }

    public string Url { get; }

    public static CallbackSink Start() => new(FreePort());

    /// <summary>The attempt numbers that called back, per task, in arrival order.</summary>
    public IReadOnlyDictionary<Guid, IReadOnlyList<int>> Calls() =>
        calls.ToDictionary(c => c.Key, c => (IReadOnlyList<int>)[.. c.Value]);

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
            calls.GetOrAdd(id, _ => new ConcurrentQueue<int>()).Enqueue(attempt);
            return true;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }
}
