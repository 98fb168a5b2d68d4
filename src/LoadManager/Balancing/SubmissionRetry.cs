using System.Buffers;
using Microsoft.AspNetCore.Http;
using TaskServer.LoadManager.Routing;
using Yarp.ReverseProxy.Forwarder;

namespace TaskServer.LoadManager.Balancing;

/// <summary>
/// A worker's failure does not reach the client: a submission that a worker did not take (a transport failure, or a
/// 5xx answer) is sent once more, to another worker of the policy. That is safe because every forwarded submission
/// carries an idempotency key: the client's, or one the gateway adds when the client sent none, so a set the first
/// worker committed without answering is found, not created again, by the second. The answer is held by the gateway
/// until it is final (it is one task's JSON), so a failed first try never reaches the client.
/// </summary>
public static class SubmissionRetry
{
    // Bodies up to this size are buffered in memory, larger ones (up to the payload limit) in a temporary file.
    private const int BufferThreshold = 64 * 1024;

    /// <summary>
    /// Whether the body is within <paramref name="maxBodyBytes"/>: a known length is compared; a chunked body has to be
    /// read through to learn its size, into the request's buffer (rewound, so it is still forwarded and resent whole).
    /// </summary>
    public static async Task<bool> BodyFitsAsync(HttpContext context, int maxBodyBytes)
    {
        if (context.Request.ContentLength is { } length)
        {
            return length <= maxBodyBytes;
        }

        context.Request.EnableBuffering(BufferThreshold);
        return await FitsAsync(context.Request.Body, maxBodyBytes, context.RequestAborted);
    }

    /// <summary>
    /// Runs the rest of the proxy pipeline (balancing, forwarding, passive health) once, or twice when the first worker
    /// failed. The body is buffered (it is needed again for the second try); its size was checked by
    /// <see cref="BodyFitsAsync"/>.
    /// </summary>
    public static async Task ForwardAsync(HttpContext context, Func<Task> forward)
    {
        var keyAdded = false;
        if (!context.Request.Headers.ContainsKey(TaskRoutes.IdempotencyKeyHeader))
        {
            context.Request.Headers[TaskRoutes.IdempotencyKeyHeader] = $"gateway-{Guid.NewGuid():N}";
            keyAdded = true;
        }

        context.Request.EnableBuffering(BufferThreshold);
        var proxy = context.GetReverseProxyFeature();
        var candidates = proxy.AvailableDestinations;
        var client = context.Response.Body;
        using var answer = new MemoryStream();
        context.Response.Body = answer;
        try
        {
            await forward();
            if (FailedOnWorker(context) && proxy.ProxiedDestination is { } failed
                && candidates.Where(d => d != failed).ToList() is { Count: > 0 } others)
            {
                context.Features.Set<IForwarderErrorFeature>(null);
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.Headers.Clear();
                answer.SetLength(0);
                context.Request.Body.Position = 0;
                proxy.AvailableDestinations = others;
                await forward();
            }
        }
        finally
        {
            context.Response.Body = client;
        }

        if (keyAdded)
        {
            // The client sent no key: a replay of the gateway's own key is news to nobody.
            context.Response.Headers.Remove(TaskRoutes.ReplayedHeader);
        }

        answer.Position = 0;
        await answer.CopyToAsync(client, context.RequestAborted);
    }

    /// <summary>Reads the whole (buffered) body, or stops one byte past the limit; leaves it rewound.</summary>
    private static async Task<bool> FitsAsync(Stream body, int maxBodyBytes, CancellationToken cancellationToken)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                total += read;
                if (total > maxBodyBytes)
                {
                    return false;
                }
            }

            body.Position = 0;
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>The worker's failure, not the client's (a client that went away or sent a broken body is not retried).</summary>
    private static bool FailedOnWorker(HttpContext context) =>
        !context.RequestAborted.IsCancellationRequested
        && (context.Features.Get<IForwarderErrorFeature>()?.Error is { } error
                ? error is not (ForwarderError.None or ForwarderError.NoAvailableDestinations or ForwarderError.RequestCanceled
                    or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient or ForwarderError.RequestBodyCanceled
                    or ForwarderError.ResponseBodyCanceled)
                : context.Response.StatusCode >= StatusCodes.Status500InternalServerError);
}
