using System.Net;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// The database goes away for a few seconds and comes back, as a restart does: every connection is reset and new
/// ones are refused meanwhile (a relay in front of the server, so the shared test server keeps running). Clients are
/// told to come back later, never given a 500; the node recovers by itself; nothing acknowledged is lost.
/// </summary>
public sealed class DatabaseRestartTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task While_the_database_restarts_clients_get_503_with_Retry_After_and_afterwards_every_acknowledged_task_runs()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var database = await PostgresDatabase.CreateAsync();
        var direct = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, direct.Port));
        var viaRelay = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = relay.Port };
        await using var node = NodeProcess.Start(ClusterSettings.For(database, "Standalone", "restart", ("Storage:ConnectionString", viaRelay.ConnectionString)));
        await node.WaitUntilLiveAsync();
        using var api = new TaskApi(node.Url);
        await StandaloneFixture.WaitUntilRoutingAsync(api);

        var acknowledged = new List<Guid>();
        var refusals = new List<(HttpStatusCode Status, bool RetryAfter, string Body)>();
        async Task SubmitForAsync(TimeSpan duration)
        {
            var until = DateTime.UtcNow + duration;
            while (DateTime.UtcNow < until)
            {
                using var response = await api.SubmitAsync("""{"type":"echo","payload":"through a restart"}""");
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    acknowledged.Add((await TaskApi.ReadJsonAsync(response)).GetProperty("id").GetGuid());
                }
                else
                {
                    refusals.Add((response.StatusCode, response.Headers.RetryAfter is not null, await response.Content.ReadAsStringAsync(cancellationToken)));
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            }
        }

        await SubmitForAsync(TimeSpan.FromSeconds(1));
        var beforeOutage = acknowledged.Count;
        await relay.CutAsync();
        await SubmitForAsync(Outage);
        relay.Restore();

        // Recovery without restarting the node: submissions are accepted again.
        await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await api.SubmitAsync("""{"type":"echo","payload":"after the restart"}""");
                if (response.StatusCode != HttpStatusCode.Accepted)
                {
                    return false;
                }

                acknowledged.Add((await TaskApi.ReadJsonAsync(response)).GetProperty("id").GetGuid());
                return true;
            },
            TimeSpan.FromSeconds(60),
            "the node to accept tasks again once its database is back");
        await SubmitForAsync(TimeSpan.FromSeconds(1));

        Assert.True(beforeOutage > 0, "tasks were accepted before the outage");
        Assert.NotEmpty(refusals);
        Assert.All(refusals, refusal =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refusal.Status);
            Assert.True(refusal.RetryAfter, $"a 503 without Retry-After: {refusal.Body}");
            Assert.Matches("urn:taskserver:problem:(storage-unavailable|not-primary|no-healthy-worker)", refusal.Body);
        });
        foreach (var id in acknowledged)
        {
            await api.WaitForStatusAsync(id, "Succeeded", TimeSpan.FromSeconds(60));
        }

        // One primary per epoch: a node that lost its lease in the outage took a new epoch, never an old one again.
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM (SELECT epoch FROM taskserver.failovers GROUP BY epoch HAVING count(*) > 1) twice"));
        Assert.False(node.HasExited);
    }
}
