using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;
using TaskServer.Drill.Cluster;

namespace TaskServer.Drill.Experiment;

/// <summary>
/// The faults the experiment and the chaos harness inject, each through what the cluster offers: POST /admin/faults on a node,
/// real signals, scripts/cluster.sh (restart a node, stop and start the database), and the node's
/// PostgreSQL role (cluster.sh gives every node its own): refusing its logins and ending its sessions cuts
/// one running node off the database without root, network namespaces or a relay.
/// </summary>
internal sealed class Faults(ClusterEnv env, HttpClient http)
{
    /// <summary>POST /admin/faults {"fault": fault, "value": value} on the node.</summary>
    public async Task SetAsync(Uri node, string fault, object? value, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(node, "admin/faults"))
        {
            Content = JsonContent.Create(new Dictionary<string, object?> { ["fault"] = fault, ["value"] = value }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", env.AdminKey);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        using var response = await http.SendAsync(request, timeout.Token);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new DrillException($"{node} has no POST /admin/faults: start the cluster with 'scripts/cluster.sh up --faults'.");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new DrillException($"POST {node}admin/faults {fault} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <summary>Whether the node takes POST /admin/faults with the admin key (GET answers 200): it must have faults on and know the key.</summary>
    public async Task<bool> AcceptsAsync(Uri node, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node, "admin/faults"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", env.AdminKey);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>Whether the node's PostgreSQL role exists (cluster.sh up of this build creates one per node).</summary>
    public async Task<bool> HasRoleAsync(string node, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_roles WHERE rolname = @name", connection);
        command.Parameters.AddWithValue("name", node);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    /// <summary>Refuses the node's logins (NOLOGIN) and ends the sessions it has; returns how many were ended.</summary>
    public async Task<int> CutOffAsync(string node, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using (var refuse = new NpgsqlCommand($"ALTER ROLE {Quote(node)} NOLOGIN", connection))
        {
            await refuse.ExecuteNonQueryAsync(cancellationToken);
        }

        return await EndSessionsAsync(connection, node, cancellationToken);
    }

    /// <summary>Ends whatever sessions the node still has (one that was authenticating when its role was refused).</summary>
    public async Task<int> EndSessionsAsync(string node, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await EndSessionsAsync(connection, node, cancellationToken);
    }

    /// <summary>
    /// Ends up to <paramref name="count"/> sessions drawn at random from those of the given nodes' roles (every pool a
    /// node has, told apart by application_name: the task store's, Hangfire's, the primary's lease session); returns
    /// each as "role/application_name".
    /// </summary>
    public async Task<IReadOnlyList<string>> TerminateRandomSessionsAsync(IReadOnlyList<string> nodes, int count, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var end = new NpgsqlCommand(
            """
            SELECT usename || '/' || coalesce(nullif(application_name, ''), '-') FROM (
                SELECT pid, usename, application_name FROM pg_stat_activity
                WHERE usename = ANY(@nodes) AND pid <> pg_backend_pid()
                ORDER BY random() LIMIT @count) chosen
            WHERE pg_terminate_backend(pid)
            """,
            connection);
        end.Parameters.AddWithValue("nodes", nodes.ToArray());
        end.Parameters.AddWithValue("count", count);
        var ended = new List<string>();
        await using var reader = await end.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ended.Add(reader.GetString(0));
        }

        return ended;
    }

    public async Task ReconnectAsync(string node, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var allow = new NpgsqlCommand($"ALTER ROLE {Quote(node)} LOGIN", connection);
        await allow.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<int> EndSessionsAsync(NpgsqlConnection connection, string node, CancellationToken cancellationToken)
    {
        await using var end = new NpgsqlCommand("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = @name", connection);
        end.Parameters.AddWithValue("name", node);
        return (int)(long)(await end.ExecuteScalarAsync(cancellationToken))!;
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        // The drill's own role (taskserver), never a node's: a cut-off node's role cannot log in.
        var connection = new NpgsqlConnection(env.StorageConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
