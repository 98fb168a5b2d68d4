using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// A loopback HTTP endpoint that records every callback a task makes: the side effects a test counts. Given a URL to
/// redirect to, it answers each call 302 to that URL instead.
/// </summary>
public sealed class CallbackSink : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly ConcurrentQueue<JsonElement> calls = new();
    private readonly Task loop;
    private readonly string? redirectTo;
    private int hits;

    public CallbackSink(string? redirectTo = null)
    {
        this.redirectTo = redirectTo;
        Url = $"http://127.0.0.1:{FreePort.Next()}/";
        listener.Prefixes.Add(Url);
        listener.Start();
        loop = Task.Run(ServeAsync);
    }

    public string Url { get; }

    public IReadOnlyCollection<JsonElement> Calls => calls;

    /// <summary>Every request that reached the sink, whatever its method or body (a followed redirect arrives as a GET).</summary>
    public int Hits => Volatile.Read(ref hits);

    public void Dispose()
    {
        listener.Close();
        _ = loop.Exception;
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
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref hits);
            using (var document = await JsonDocument.ParseAsync(context.Request.InputStream))
            {
                calls.Enqueue(document.RootElement.Clone());
            }

            if (redirectTo is null)
            {
                context.Response.StatusCode = 204;
            }
            else
            {
                context.Response.StatusCode = 302;
                context.Response.RedirectLocation = redirectTo;
            }

            context.Response.Close();
        }
    }
}
