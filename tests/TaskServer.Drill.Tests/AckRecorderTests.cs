using System.Net;
using System.Net.Sockets;
using System.Text;
using TaskServer.Drill.Load;

namespace TaskServer.Drill.Tests;

public sealed class AckRecorderTests
{
    [Fact]
    public async Task An_error_answer_whose_body_breaks_off_is_a_response_that_ended_not_an_already_consumed_stream()
    {
        // A seed-3 chaos run died of InvalidOperationException ("the stream was already consumed") 30 minutes in: the
        // recorder had half read a 503's body, then HttpClient tried to read it again.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = AnswerWithATruncatedProblemAsync(listener, TestContext.Current.CancellationToken);
        using var recorder = new AckRecorder(new RunClock(TimeProvider.System), ca: null);
        using var http = new HttpClient(recorder);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/tasks")
        {
            Content = new StringContent("{}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", "k1");

        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => http.SendAsync(request, TestContext.Current.CancellationToken));
        await server;

        Assert.Equal(HttpRequestError.ResponseEnded, failure.HttpRequestError);
        Assert.Equal("ResponseEnded", Assert.Single(recorder.FailedAttempts).Reason);
    }

    private static async Task AnswerWithATruncatedProblemAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        using var client = await listener.AcceptTcpClientAsync(cancellationToken);
        var stream = client.GetStream();
        var buffer = new byte[4096];
        var request = new StringBuilder();
        while (!request.ToString().Contains("\r\n\r\n{}", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return;
            }

            request.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        var answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nContent-Length: 500\r\n\r\n{\"type\":\"urn:taskserver:problem:not-prim";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), cancellationToken);
        await stream.FlushAsync(cancellationToken);
        client.Client.Shutdown(SocketShutdown.Both);
    }
}
