using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace TaskServer.EndToEnd.Tests;

/// <summary>Every client-facing error is problem+json with a stable type, and a rejected request writes nothing.</summary>
[Collection(StandaloneNodeGroup.Name)]
public sealed class ApiContractTests(StandaloneFixture cluster)
{
    private TaskApi Api => cluster.Api;

    [Theory]
    [InlineData("""{"type":""", "malformed-json")]
    [InlineData("""[1,2]""", "invalid-request")]
    [InlineData("""{"payload":{}}""", "invalid-request")]
    [InlineData("""{"type":"no-such-type","payload":{}}""", "unknown-task-type")]
    [InlineData("""{"type":"sleep","payload":{"ms":"long"}}""", "invalid-payload")]
    [InlineData("""{"type":"sleep"}""", "invalid-payload")]
    [InlineData("""{"type":"callback","payload":{"url":"http://example.com/"}}""", "invalid-payload")]
    [InlineData("""{"type":"echo","payload":1,"maxAttempts":0}""", "invalid-request")]
    [InlineData("""{"type":"echo","payload":1,"maxAttempts":1000}""", "invalid-request")]
    public async Task A_bad_submission_is_a_400_problem_and_stores_nothing(string body, string problem)
    {
        var before = await CountTasksAsync();

        using var response = await Api.SubmitAsync(body);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, problem);
        Assert.Equal(before, await CountTasksAsync());
    }

    [Fact]
    public async Task A_submission_without_a_key_is_a_401_problem_with_a_bearer_challenge()
    {
        using var anonymous = new TaskApi(cluster.Node.Url, apiKey: null);

        using var response = await anonymous.SubmitAsync("""{"type":"echo","payload":1}""");

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "missing-api-key");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task An_unknown_key_is_a_401_problem_with_a_bearer_challenge_on_every_endpoint()
    {
        using var stranger = new TaskApi(cluster.Node.Url, apiKey: "not-a-key-we-know-of-at-all");

        using var submit = await stranger.SubmitAsync("""{"type":"echo","payload":1}""");
        using var list = await stranger.Http.GetAsync(new Uri("/tasks", UriKind.Relative), TestContext.Current.CancellationToken);

        await AssertProblemAsync(submit, HttpStatusCode.Unauthorized, "invalid-api-key");
        await AssertProblemAsync(list, HttpStatusCode.Unauthorized, "invalid-api-key");
        Assert.Equal("Bearer", submit.Headers.WwwAuthenticate.ToString());
        Assert.Equal("Bearer", list.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task A_body_over_the_limit_is_a_413_problem()
    {
        var body = $$"""{"type":"echo","payload":"{{new string('x', 70_000)}}"}""";

        using var response = await Api.SubmitAsync(body);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_a_413_problem_too()
    {
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($$"""{"type":"echo","payload":"{{new string('x', 70_000)}}"}""")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/tasks") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await Api.Http.SendAsync(request, TestContext.Current.CancellationToken);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
    }

    [Fact]
    public async Task An_unknown_task_is_a_404_problem_to_read_and_to_cancel()
    {
        var id = Guid.CreateVersion7();

        using var get = await Api.Http.GetAsync(new Uri($"/tasks/{id}", UriKind.Relative), TestContext.Current.CancellationToken);
        using var delete = await Api.Http.DeleteAsync(new Uri($"/tasks/{id}", UriKind.Relative), TestContext.Current.CancellationToken);

        await AssertProblemAsync(get, HttpStatusCode.NotFound, "task-not-found");
        await AssertProblemAsync(delete, HttpStatusCode.NotFound, "task-not-found");
    }

    [Fact]
    public async Task Cancelling_a_finished_task_is_a_409_problem()
    {
        var id = await Api.SubmitAcceptedAsync("""{"type":"echo","payload":1}""");
        await Api.WaitForStatusAsync(id, "Succeeded");

        using var response = await Api.Http.DeleteAsync(new Uri($"/tasks/{id}", UriKind.Relative), TestContext.Current.CancellationToken);

        await AssertProblemAsync(response, HttpStatusCode.Conflict, "task-already-final");
    }

    [Theory]
    [InlineData("status=Sleeping")]
    [InlineData("limit=0")]
    [InlineData("limit=100000")]
    [InlineData("after=yesterday")]
    public async Task A_bad_listing_query_is_a_400_problem(string query)
    {
        using var response = await Api.Http.GetAsync(new Uri($"/tasks?{query}", UriKind.Relative), TestContext.Current.CancellationToken);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid-request");
    }

    [Fact]
    public async Task An_accepted_task_answers_202_with_its_location()
    {
        using var response = await Api.SubmitAsync("""{"type":"echo","payload":"where"}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var task = await TaskApi.ReadJsonAsync(response);
        Assert.Equal($"/tasks/{task.GetProperty("id").GetGuid()}", response.Headers.Location?.ToString());
        Assert.Equal("Queued", task.GetProperty("status").GetString());
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string problem)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = System.Text.Json.JsonDocument.Parse(body).RootElement;
        Assert.Equal("urn:taskserver:problem:" + problem, json.GetProperty("type").GetString());
        Assert.Equal((int)status, json.GetProperty("status").GetInt32());
    }

    /// <summary>Tasks and Hangfire jobs as the database holds them: a rejected request must add to neither.</summary>
    private async Task<(long Tasks, long Jobs)> CountTasksAsync() =>
        (await cluster.Database.CountAsync("SELECT count(*) FROM taskserver.tasks"),
         await cluster.Database.CountAsync("SELECT count(*) FROM hangfire.job"));
}
