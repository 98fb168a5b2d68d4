using System.Net;

namespace TaskServer.EndToEnd.Tests;

[Collection(StandaloneNodeGroup.Name)]
public sealed class IdempotencyTests(StandaloneFixture cluster)
{
    private TaskApi Api => cluster.Api;

    [Fact]
    public async Task The_same_key_and_body_return_the_task_already_stored()
    {
        var key = Guid.NewGuid().ToString();
        const string body = """{"type":"echo","payload":{"order":42}}""";

        var first = await Api.SubmitAcceptedAsync(body, key);
        using var again = await Api.SubmitAsync(body, key);

        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal(first, (await TaskApi.ReadJsonAsync(again)).GetProperty("id").GetGuid());
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, await CountWithKeyAsync(key));
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_a_409_problem_and_stores_nothing()
    {
        var key = Guid.NewGuid().ToString();
        await Api.SubmitAcceptedAsync("""{"type":"echo","payload":{"order":1}}""", key);
        var jobsBefore = await cluster.Database.CountAsync("SELECT count(*) FROM hangfire.job");

        using var conflict = await Api.SubmitAsync("""{"type":"echo","payload":{"order":2}}""", key);

        await ApiContractTests.AssertProblemAsync(conflict, HttpStatusCode.Conflict, "idempotency-key-reused");
        Assert.Equal(1, await CountWithKeyAsync(key));
        Assert.Equal(jobsBefore, await cluster.Database.CountAsync("SELECT count(*) FROM hangfire.job"));
    }

    [Fact]
    public async Task Parallel_retries_with_one_key_make_one_task()
    {
        var key = Guid.NewGuid().ToString();

        var ids = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Api.SubmitAcceptedAsync("""{"type":"echo","payload":"once"}""", key)));

        Assert.Single(ids.Distinct());
        Assert.Equal(1, await CountWithKeyAsync(key));
    }

    [Fact]
    public async Task Two_clients_using_the_same_key_get_two_tasks()
    {
        var key = Guid.NewGuid().ToString();
        using var otherClient = new TaskApi(cluster.Node.Url, ClusterSettings.OtherApiKey);

        var mine = await Api.SubmitAcceptedAsync("""{"type":"echo","payload":"a"}""", key);
        var theirs = await otherClient.SubmitAcceptedAsync("""{"type":"echo","payload":"b"}""", key);

        Assert.NotEqual(mine, theirs);
        Assert.Equal(2, await CountWithKeyAsync(key));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    public async Task A_malformed_key_is_a_400_problem(string key)
    {
        using var response = await Api.SubmitAsync("""{"type":"echo","payload":1}""", key);

        await ApiContractTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid-request");
    }

    /// <summary>Keys are stored scoped by client ("client:key"), so count by suffix.</summary>
    private Task<long> CountWithKeyAsync(string key) =>
        cluster.Database.CountAsync($"SELECT count(*) FROM taskserver.tasks WHERE idempotency_key LIKE '%:{key}'");
}
