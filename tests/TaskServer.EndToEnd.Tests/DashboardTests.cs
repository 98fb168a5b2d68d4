using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace TaskServer.EndToEnd.Tests;

[Collection(StandaloneNodeGroup.Name)]
public sealed class DashboardTests(StandaloneFixture cluster)
{
    [Theory]
    [InlineData("/hangfire")]
    [InlineData("/hangfire/tasks")]
    [InlineData("/hangfire/tasks/0199f1f2-0000-7000-8000-000000000000")]
    public async Task The_dashboard_is_refused_without_admin_credentials(string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri(cluster.Node.Url) };

        using var anonymous = await http.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
        using var clientKey = await SendAsync(http, path, ClusterSettings.ApiKey);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("Basic", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, clientKey.StatusCode);
    }

    [Fact]
    public async Task With_admin_credentials_the_dashboard_shows_the_worker_and_the_task()
    {
        var id = await cluster.Api.SubmitAcceptedAsync("""{"type":"echo","payload":"dashboard"}""");
        var worker = (await cluster.Api.WaitForStatusAsync(id, "Succeeded")).GetProperty("worker").GetString()!;
        using var http = new HttpClient { BaseAddress = new Uri(cluster.Node.Url) };

        var clusterPage = await ReadPageAsync(http, "/hangfire/cluster");
        var tasks = await ReadPageAsync(http, "/hangfire/tasks?type=echo&status=Succeeded");
        var task = await ReadPageAsync(http, $"/hangfire/tasks/{id}");

        Assert.Contains(worker, clusterPage, StringComparison.Ordinal);
        Assert.Contains($"data-task=\"{id}\"", tasks, StringComparison.Ordinal);
        Assert.Contains("&quot;dashboard&quot;", task, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_filter_that_means_nothing_is_answered_400_with_the_reason()
    {
        using var http = new HttpClient { BaseAddress = new Uri(cluster.Node.Url) };

        using var response = await SendAsync(http, "/hangfire/tasks?status=Lost", ClusterSettings.AdminKey);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Unknown status &quot;Lost&quot;", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
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
