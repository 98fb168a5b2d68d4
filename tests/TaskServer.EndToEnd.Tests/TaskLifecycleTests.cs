using System.Net;
using System.Text.Json;

namespace TaskServer.EndToEnd.Tests;

[Collection(StandaloneNodeGroup.Name)]
public sealed class TaskLifecycleTests(StandaloneFixture cluster)
{
    private TaskApi Api => cluster.Api;

    [Fact]
    public async Task An_echo_task_succeeds_with_its_payload_as_result()
    {
        var id = await Api.SubmitAcceptedAsync("""{"type":"echo","payload":{"greeting":"hello","n":[1,2]}}""");

        var task = await Api.WaitForStatusAsync(id, "Succeeded");

        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse("""{"greeting":"hello","n":[1,2]}""").RootElement, task.GetProperty("result")));
        Assert.Equal(1, task.GetProperty("attempt").GetInt32());
        Assert.StartsWith("solo-", task.GetProperty("worker").GetString(), StringComparison.Ordinal);
        Assert.True(task.GetProperty("startedAt").GetDateTimeOffset() <= task.GetProperty("finishedAt").GetDateTimeOffset());

        // The W3C trace of its submission, in which every attempt's span lies.
        Assert.Matches("^[0-9a-f]{32}$", task.GetProperty("traceId").GetString());
    }

    [Fact]
    public async Task A_task_that_fails_twice_succeeds_on_its_third_attempt()
    {
        var id = await Api.SubmitAcceptedAsync("""{"type":"fail","payload":{"times":2},"maxAttempts":3}""");

        var task = await Api.WaitForStatusAsync(id, "Succeeded");

        Assert.Equal(3, task.GetProperty("attempt").GetInt32());
        Assert.Equal(3, task.GetProperty("result").GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task A_task_that_fails_every_attempt_ends_failed_with_the_last_error()
    {
        var id = await Api.SubmitAcceptedAsync("""{"type":"fail","payload":{"times":5},"maxAttempts":2}""");

        var task = await Api.WaitForStatusAsync(id, "Failed");

        Assert.Equal(2, task.GetProperty("attempt").GetInt32());
        Assert.Contains("attempt 2 fails", task.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, task.GetProperty("result").ValueKind);
    }

    [Fact]
    public async Task A_hash_task_returns_the_digest_a_client_can_verify()
    {
        var id = await Api.SubmitAcceptedAsync("""{"type":"hash","payload":{"data":"abc"}}""");

        var task = await Api.WaitForStatusAsync(id, "Succeeded");

        // SHA-256("abc"), the FIPS 180-2 test vector.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", task.GetProperty("result").GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Cancelling_a_running_task_cancels_its_handler()
    {
        var id = await Api.SubmitAcceptedAsync("""{"type":"sleep","payload":{"ms":120000}}""");
        await Api.WaitForStatusAsync(id, "Running");

        using var response = await Api.Http.DeleteAsync(new Uri($"/tasks/{id}", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Cancelled", (await TaskApi.ReadJsonAsync(response)).GetProperty("status").GetString());
        await TaskServer.Testing.Eventually.HoldsAsync(
            () => Task.FromResult(cluster.Node.Output.Contains($"Attempt of task {id} was cancelled", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(15),
            "the handler to observe the cancellation");
        Assert.Equal("Cancelled", (await Api.GetAsync(id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_callback_task_calls_the_loopback_url_with_its_id_and_attempt()
    {
        using var sink = new CallbackSink();
        var id = await Api.SubmitAcceptedAsync($$$"""{"type":"callback","payload":{"url":"{{{sink.Url}}}"}}""");

        await Api.WaitForStatusAsync(id, "Succeeded");

        var call = Assert.Single(sink.Calls);
        Assert.Equal(id, call.GetProperty("id").GetGuid());
        Assert.Equal(1, call.GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task A_thousand_echo_tasks_all_succeed()
    {
        var type = "echo";
        var ids = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            ids.Add(await Api.SubmitAcceptedAsync($$$"""{"type":"{{{type}}}","payload":{"i":{{{i}}}}}""")));

        var pending = ids.ToHashSet();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (pending.Count > 0 && DateTime.UtcNow < deadline)
        {
            using var response = await Api.Http.GetAsync(new Uri("/tasks?type=echo&status=Succeeded&limit=500", UriKind.Relative), TestContext.Current.CancellationToken);
            await foreach (var page in Pages(response))
            {
                pending.ExceptWith(page);
            }

            if (pending.Count > 0)
            {
                await Task.Delay(250, TestContext.Current.CancellationToken);
            }
        }

        Assert.Empty(pending);
    }

    /// <summary>Every id of the succeeded-echo listing, following the <c>next</c> cursor.</summary>
    private async IAsyncEnumerable<IEnumerable<Guid>> Pages(HttpResponseMessage first)
    {
        var page = await TaskApi.ReadJsonAsync(first);
        while (true)
        {
            yield return page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetGuid()).ToList();
            if (page.GetProperty("next").ValueKind == JsonValueKind.Null)
            {
                yield break;
            }

            using var next = await Api.Http.GetAsync(new Uri($"/tasks?type=echo&status=Succeeded&limit=500&after={page.GetProperty("next").GetGuid()}", UriKind.Relative), TestContext.Current.CancellationToken);
            page = await TaskApi.ReadJsonAsync(next);
        }
    }
}
