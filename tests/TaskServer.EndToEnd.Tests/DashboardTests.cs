using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace TaskServer.EndToEnd.Tests;

[Collection(StandaloneNodeGroup.Name)]
public sealed class DashboardTests(StandaloneFixture cluster)
{
    [Fact]
    public async Task The_dashboard_is_refused_without_admin_credentials()
    {
        using var http = new HttpClient { BaseAddress = new Uri(cluster.Node.Url) };

        using var anonymous = await http.GetAsync(new Uri("/hangfire", UriKind.Relative), TestContext.Current.CancellationToken);
        using var clientKey = await SendAsync(http, "/hangfire", ClusterSettings.ApiKey);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("Basic", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, clientKey.StatusCode);
    }

    [Fact]
    public async Task With_admin_credentials_the_dashboard_shows_the_worker_its_queue_and_the_jobs()
    {
        var id = await cluster.Api.SubmitAcceptedAsync("""{"type":"echo","payload":"dashboard"}""");
        var worker = (await cluster.Api.WaitForStatusAsync(id, "Succeeded")).GetProperty("worker").GetString()!;
        using var http = new HttpClient { BaseAddress = new Uri(cluster.Node.Url) };

        var servers = await ReadPageAsync(http, "/hangfire/servers");
        var succeeded = await ReadPageAsync(http, "/hangfire/jobs/succeeded");

        Assert.Contains(worker, servers, StringComparison.Ordinal);
        Assert.Contains(worker.Replace('-', '_'), servers, StringComparison.Ordinal);
        Assert.Contains($"task {id}", succeeded, StringComparison.Ordinal);
    }

    private static async Task<string> ReadPageAsync(HttpClient http, string path)
    {
        using var response = await SendAsync(http, path, ClusterSettings.AdminKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, string path, string password)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{password}")));
        return http.SendAsync(request, TestContext.Current.CancellationToken);
    }
}
