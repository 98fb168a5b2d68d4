using System.Net;
using System.Net.Sockets;

namespace TaskServer.Testing;

/// <summary>
/// A loopback TCP relay in front of a server, so a test can cut one node off it (and only that node)
/// and restore it later, as a network partition would.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly IPEndPoint target;
    private readonly List<TcpClient> connections = [];
    private TcpListener? listener;
    private Task? accepting;

    public TcpRelay(IPEndPoint target)
    {
        this.target = target;
        Port = FreePort.Next();
        Restore();
    }

    public int Port { get; }

    /// <summary>Refuses new connections and resets every open one.</summary>
    public async Task CutAsync()
    {
        listener?.Stop();
        if (accepting is not null)
        {
            await accepting;
        }

        lock (connections)
        {
            foreach (var connection in connections)
            {
                // Linger 0: the peers see a reset at once, as when a network path fails.
                if (connection.Client is { } socket)
                {
                    socket.LingerState = new LingerOption(true, 0);
                }

                connection.Dispose();
            }

            connections.Clear();
        }
    }

    public void Restore()
    {
        listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Start();
        var current = listener;
        accepting = Task.Run(() => AcceptAsync(current));
    }

    public async ValueTask DisposeAsync() => await CutAsync();

    private async Task AcceptAsync(TcpListener from)
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await from.AcceptTcpClientAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(target);
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            lock (connections)
            {
                connections.Add(client);
                connections.Add(server);
            }

            _ = PumpAsync(client, server);
            _ = PumpAsync(server, client);
        }
    }

    private static async Task PumpAsync(TcpClient from, TcpClient to)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream());
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            // Cut, or the other side closed: the relay's job ends with the connection.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
