using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>A loopback HTTP endpoint that records every callback a task makes: the side effects a test counts.</summary>
public sealed class CallbackSink : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly ConcurrentQueue<JsonElement> calls = new();
    private readonly Task loop;

    public CallbackSink()
    {
        Url = $"http://127.0.0.1:{FreePort.Next()}/";
        listener.Prefixes.Add(Url);
        listener.Start();
        loop = Task.Run(ServeAsync);
    }

    public string Url { get; }

    public IReadOnlyCollection<JsonElement> Calls => calls;

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

            using (var document = await JsonDocument.ParseAsync(context.Request.InputStream))
            {
                calls.Enqueue(document.RootElement.Clone());
            }

            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }
}
