using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// The edges of a real node: 401 vs 403, problem+json for every error status (routing, binding, Kestrel), input
/// the database cannot store, each client seeing only its own tasks, summaries in listings, the internal listener.
/// </summary>
[Collection(StandaloneNodeGroup.Name)]
public sealed class SafeEdgeTests(StandaloneFixture cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_known_key_without_the_right_is_403_while_a_missing_or_unknown_one_is_401()
    {
        using var viewer = new TaskApi(cluster.Node.Url, ClusterSettings.ViewerKey);
        using var client = new TaskApi(cluster.Node.Url);
        using var stranger = new TaskApi(cluster.Node.Url, "not-a-key-we-know-of-at-all");
        using var anonymous = new TaskApi(cluster.Node.Url, apiKey: null);

        using var viewerTasks = await viewer.Http.GetAsync(new Uri("/tasks", UriKind.Relative), Ct);
        using var clientCluster = await client.Http.GetAsync(new Uri("/cluster", UriKind.Relative), Ct);
        using var strangerCluster = await stranger.Http.GetAsync(new Uri("/cluster", UriKind.Relative), Ct);
        using var anonymousCluster = await anonymous.Http.GetAsync(new Uri("/cluster", UriKind.Relative), Ct);

        await ApiContractTests.AssertProblemAsync(viewerTasks, HttpStatusCode.Forbidden, "forbidden");
        await ApiContractTests.AssertProblemAsync(clientCluster, HttpStatusCode.Forbidden, "forbidden");
        await ApiContractTests.AssertProblemAsync(strangerCluster, HttpStatusCode.Unauthorized, "admin-required");
        await ApiContractTests.AssertProblemAsync(anonymousCluster, HttpStatusCode.Unauthorized, "admin-required");
        Assert.NotEmpty(anonymousCluster.Headers.WwwAuthenticate);
    }

    [Theory]
    [InlineData("GET", "/no/such/route", HttpStatusCode.NotFound, "not-found")]
    [InlineData("GET", "/tasks/not-a-guid", HttpStatusCode.NotFound, "not-found")]
    [InlineData("PUT", "/tasks/0197a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b", HttpStatusCode.MethodNotAllowed, "method-not-allowed")]
    [InlineData("GET", "/tasks?limit=abc", HttpStatusCode.BadRequest, "invalid-request")]
    [InlineData("GET", "/tasks?type=a%00b", HttpStatusCode.BadRequest, "invalid-request")]
    [InlineData("GET", "/tasks?include=secrets", HttpStatusCode.BadRequest, "invalid-request")]
    public async Task Every_error_status_is_problem_json(string method, string path, HttpStatusCode status, string problem)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        using var response = await cluster.Api.Http.SendAsync(request, Ct);

        await ApiContractTests.AssertProblemAsync(response, status, problem);
    }

    [Theory]
    [InlineData("""{"type":"echo","payload":"a\u0000b"}""")]
    [InlineData("""{"type":"echo","payload":{"k\u0000":1}}""")]
    [InlineData("""{"type":"echo","payload":["\ud800"]}""")]
    [InlineData("""{"type":"sleep","payload":{"ms":3600001}}""")]
    [InlineData("""{"type":"hash","payload":{"data":"x","rounds":1000001}}""")]
    public async Task Unstorable_or_unbounded_input_is_a_400_invalid_payload(string body)
    {
        using var response = await cluster.Api.SubmitAsync(body);

        await ApiContractTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid-payload");
    }

    [Fact]
    public async Task A_malformed_chunked_body_is_kestrels_400_as_problem_json_not_a_500()
    {
        // Straight to the worker's intake on the internal listener: a gateway's YARP would answer for the worker.
        var target = new Uri(cluster.Node.InternalUrl);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(target.Host, target.Port, Ct);
        var head = $"POST /internal/tasks HTTP/1.1\r\nHost: {target.Authority}\r\nX-Cluster-Secret: {ClusterSettings.ClusterSecret}\r\n"
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{\"type\":\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head), Ct);

        var answer = await ReadToEndAsync(socket);

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", answer, StringComparison.Ordinal);
        Assert.Contains("urn:taskserver:problem:invalid-request", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_sees_reads_and_cancels_only_its_own_tasks_and_an_admin_sees_all()
    {
        using var other = new TaskApi(cluster.Node.Url, ClusterSettings.OtherApiKey);
        using var admin = new TaskApi(cluster.Node.Url, ClusterSettings.AdminKey);
        var mine = await cluster.Api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":60000}}""");

        using var otherGet = await other.Http.GetAsync(new Uri($"/tasks/{mine}", UriKind.Relative), Ct);
        using var otherDelete = await other.Http.DeleteAsync(new Uri($"/tasks/{mine}", UriKind.Relative), Ct);
        var otherList = await TaskApi.ReadJsonAsync(await other.Http.GetAsync(new Uri("/tasks?limit=500", UriKind.Relative), Ct));
        var adminList = await TaskApi.ReadJsonAsync(await admin.Http.GetAsync(new Uri("/tasks?limit=500", UriKind.Relative), Ct));
        using var adminGet = await admin.Http.GetAsync(new Uri($"/tasks/{mine}", UriKind.Relative), Ct);

        await ApiContractTests.AssertProblemAsync(otherGet, HttpStatusCode.NotFound, "task-not-found");
        await ApiContractTests.AssertProblemAsync(otherDelete, HttpStatusCode.NotFound, "task-not-found");
        Assert.DoesNotContain(Ids(otherList), id => id == mine);
        Assert.Contains(Ids(adminList), id => id == mine);
        Assert.Equal(HttpStatusCode.OK, adminGet.StatusCode);
        Assert.True((await cluster.Api.GetAsync(mine)).GetProperty("status").GetString() is "Queued" or "Running", "another client's DELETE cancelled the task");

        using var ownDelete = await cluster.Api.Http.DeleteAsync(new Uri($"/tasks/{mine}", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, ownDelete.StatusCode);
    }

    [Fact]
    public async Task A_listing_leaves_out_payload_and_result_unless_asked()
    {
        var id = await cluster.Api.SubmitAcceptedAsync("""{"type":"echo","payload":{"big":"body"}}""");
        await cluster.Api.WaitForStatusAsync(id, "Succeeded");

        var summary = Item(await ListAsync($"/tasks?type=echo&limit=500"), id);
        var full = Item(await ListAsync($"/tasks?type=echo&limit=500&include=payload,result"), id);

        Assert.Equal(System.Text.Json.JsonValueKind.Null, summary.GetProperty("payload").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, summary.GetProperty("result").ValueKind);
        Assert.Equal("body", full.GetProperty("payload").GetProperty("big").GetString());
        Assert.Equal("body", full.GetProperty("result").GetProperty("big").GetString());
    }

    [Fact]
    public async Task The_intake_answers_only_on_the_internal_listener_and_that_listener_serves_no_client_api()
    {
        using var http = new HttpClient();
        using var body = new StringContent("""{"type":"echo","payload":1}""", Encoding.UTF8, "application/json");
        using var intakeOnClientPort = new HttpRequestMessage(HttpMethod.Post, $"{cluster.Node.Url}/internal/tasks") { Content = body };
        intakeOnClientPort.Headers.Add("X-Cluster-Secret", ClusterSettings.ClusterSecret);

        using var refused = await http.SendAsync(intakeOnClientPort, Ct);
        using var tasksOnInternalPort = await cluster.Api.Http.GetAsync(new Uri($"{cluster.Node.InternalUrl}/tasks"), Ct);
        using var healthOnInternalPort = await http.GetAsync(new Uri($"{cluster.Node.InternalUrl}/health/live"), Ct);

        await ApiContractTests.AssertProblemAsync(refused, HttpStatusCode.NotFound, "not-found");
        await ApiContractTests.AssertProblemAsync(tasksOnInternalPort, HttpStatusCode.NotFound, "not-found");
        Assert.Equal(HttpStatusCode.OK, healthOnInternalPort.StatusCode);
    }

    [Fact]
    public async Task Health_details_are_for_admins_only()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri(cluster.Node.Url) };
        using var admin = new TaskApi(cluster.Node.Url, ClusterSettings.AdminKey);

        var plain = await TaskApi.ReadJsonAsync(await anonymous.GetAsync(new Uri("/health/ready", UriKind.Relative), Ct));
        var detailed = await TaskApi.ReadJsonAsync(await admin.Http.GetAsync(new Uri("/health/ready", UriKind.Relative), Ct));

        Assert.All(plain.GetProperty("checks").EnumerateArray(), check => Assert.Equal(System.Text.Json.JsonValueKind.Null, check.GetProperty("description").ValueKind));
        Assert.Contains(detailed.GetProperty("checks").EnumerateArray(), check => check.GetProperty("description").ValueKind == System.Text.Json.JsonValueKind.String);
    }

    [Fact]
    public async Task Responses_forbid_framing_and_sniffing()
    {
        using var response = await cluster.Api.Http.GetAsync(new Uri("/tasks?limit=1", UriKind.Relative), Ct);

        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    private async Task<System.Text.Json.JsonElement> ListAsync(string path)
    {
        using var response = await cluster.Api.Http.GetAsync(new Uri(path, UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await TaskApi.ReadJsonAsync(response);
    }

    private static System.Text.Json.JsonElement Item(System.Text.Json.JsonElement page, Guid id) =>
        page.GetProperty("items").EnumerateArray().Single(item => item.GetProperty("id").GetGuid() == id);

    private static List<Guid> Ids(System.Text.Json.JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid()).ToList();

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var buffer = new byte[8192];
        var answer = new StringBuilder();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        int read;
        while ((read = await socket.ReceiveAsync(buffer, timeout.Token)) > 0)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }
}
