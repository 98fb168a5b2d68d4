using System.Net;
using System.Net.Sockets;

namespace TaskServer.Testing;

public static class FreePort
{
    // Below the ephemeral range (32768-60999) and below the test and cluster databases' ports (25432, 25440): a port
    // the OS hands out for bind(0) is also one it hands to outgoing connections, and the tests make thousands, so one
    // could take the port between this check and the node's bind.
    private const int Lowest = 10_000;
    private const int AboveHighest = 25_000;

    /// <summary>A loopback port nobody listens on right now, outside the range outgoing connections draw from.</summary>
    public static int Next()
    {
        while (true)
        {
            var port = Random.Shared.Next(Lowest, AboveHighest);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                // Someone has it; draw another.
            }
        }
    }
}
