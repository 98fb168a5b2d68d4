using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.Host.Api;

namespace TaskServer.Host.Tests.Api;

/// <summary>The problems written with a Retry-After header, executed as the node does (problem details service registered).</summary>
public sealed class ProblemsTests : IDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();

    [Fact]
    public async Task Overloaded_is_a_429_problem_with_a_retry_after_in_whole_seconds_rounded_up()
    {
        var response = await ExecuteAsync(Problems.Overloaded(TimeSpan.FromMilliseconds(2_100)));

        Assert.Equal(429, response.Status);
        Assert.Equal("3", response.RetryAfter);
        Assert.Equal(Problems.TypePrefix + "overloaded", response.Body.GetProperty("type").GetString());
        Assert.Equal(429, response.Body.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task No_healthy_worker_is_a_503_problem_with_a_retry_after()
    {
        var response = await ExecuteAsync(Problems.NoHealthyWorker(TimeSpan.FromSeconds(4)));

        Assert.Equal(503, response.Status);
        Assert.Equal("4", response.RetryAfter);
        Assert.Equal(Problems.TypePrefix + "no-healthy-worker", response.Body.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public async Task Retry_after_is_never_less_than_one_second(int milliseconds)
    {
        var response = await ExecuteAsync(Problems.NoHealthyWorker(TimeSpan.FromMilliseconds(milliseconds)));

        Assert.Equal("1", response.RetryAfter);
    }

    [Fact]
    public async Task A_problem_is_written_as_problem_json()
    {
        var response = await ExecuteAsync(Problems.PayloadTooLarge(1024));

        Assert.Equal(413, response.Status);
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
        Assert.Equal("The limit is 1024 bytes.", response.Body.GetProperty("detail").GetString());
    }

    public void Dispose() => services.Dispose();

    private async Task<WrittenResponse> ExecuteAsync(IResult result)
    {
        var body = new MemoryStream();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = body;

        await result.ExecuteAsync(context);

        return new WrittenResponse(
            context.Response.StatusCode,
            context.Response.Headers.RetryAfter.ToString(),
            context.Response.ContentType,
            JsonElement.Parse(body.ToArray()));
    }

    private sealed record WrittenResponse(int Status, string RetryAfter, string? ContentType, JsonElement Body);
}
