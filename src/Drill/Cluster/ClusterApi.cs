using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace TaskServer.Drill.Cluster;

/// <summary>
/// The operator side of the cluster as a drill uses it: <c>GET /cluster</c> with the admin key and the
/// health endpoints. Every call has a short deadline of its own: a dead or paused node must not stall a drill.
/// </summary>
internal sealed class ClusterApi(HttpClient http, ClusterEnv env)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The gateway's view of the cluster, or null when it does not answer in time.</summary>
    public async Task<ClusterView?> GetClusterAsync(Uri gateway, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, "cluster"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", env.AdminKey);
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw new DrillException($"{gateway} refused the admin key from {env.Source} ({(int)response.StatusCode}).");
            }

            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<ClusterView>(Json, timeout.Token) : null;
        }
        catch (Exception e) when (IsNoAnswer(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>The HTTP status of a health endpoint (e.g. "primary"), or null when the node does not answer in time.</summary>
    public async Task<HttpStatusCode?> HealthAsync(Uri node, string endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.GetAsync(new Uri(node, "health/" + endpoint), deadline.Token);
            return response.StatusCode;
        }
        catch (Exception e) when (IsNoAnswer(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>Polls the node's /health/ready until it answers 200; false when <paramref name="wait"/> ran out first.</summary>
    public async Task<bool> WaitUntilReadyAsync(Uri node, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (time.GetElapsedTime(started) < wait)
        {
            if (await HealthAsync(node, "ready", TimeSpan.FromSeconds(2), cancellationToken) == HttpStatusCode.OK)
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken);
        }

        return false;
    }

    /// <summary>How many workers the gateway's balancer routes to, from its /health/ready "workers" check; 0 when it does not say.</summary>
    public async Task<int> HealthyWorkersAsync(Uri gateway, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        try
        {
            // /health/ready answers 503 with the same body while the node is not ready: read it whatever the status.
            using var response = await http.GetAsync(new Uri(gateway, "health/ready"), timeout.Token);
            return HealthyWorkers(await response.Content.ReadFromJsonAsync<JsonElement>(Json, timeout.Token));
        }
        catch (Exception e) when (IsNoAnswer(e, cancellationToken))
        {
            return 0;
        }
    }

    /// <summary>The "workers" check's data.healthy in a /health/ready body.</summary>
    internal static int HealthyWorkers(JsonElement ready) =>
        ready.ValueKind == JsonValueKind.Object && ready.TryGetProperty("checks", out var checks) && checks.ValueKind == JsonValueKind.Array
            ? checks.EnumerateArray()
                .Where(c => c.TryGetProperty("name", out var name) && name.GetString() == "workers")
                .Select(c => c.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("healthy", out var healthy) && healthy.TryGetInt32(out var count) ? count : 0)
                .FirstOrDefault()
            : 0;

    /// <summary>The gateway that says it is primary, with its view; fails when none does.</summary>
    public async Task<(Uri Gateway, ClusterView View)> FindPrimaryAsync(CancellationToken cancellationToken)
    {
        var answers = new List<string>();
        foreach (var gateway in env.Gateways)
        {
            var view = await GetClusterAsync(gateway, cancellationToken);
            if (view?.Self.IsPrimary == true)
            {
                return (gateway, view);
            }

            answers.Add(view is null ? $"{gateway}: no answer" : $"{gateway}: {view.Self.Id} is a backup");
        }

        throw new DrillException("No gateway is primary: " + string.Join("; ", answers));
    }

    /// <summary>Waits until some gateway is primary (a cluster just started, or still recovering).</summary>
    public async Task<(Uri Gateway, ClusterView View)> WaitForPrimaryAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            try
            {
                return await FindPrimaryAsync(deadline.Token);
            }
            catch (DrillException) when (!deadline.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return await FindPrimaryAsync(cancellationToken);
            }
        }
    }

    private static bool IsNoAnswer(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException or JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);
}

/// <summary>A drill cannot run (the cluster is not in the state it needs); exit code 2.</summary>
internal sealed class DrillException(string message) : Exception(message);
