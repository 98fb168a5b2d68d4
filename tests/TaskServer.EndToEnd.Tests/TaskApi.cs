using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace TaskServer.EndToEnd.Tests;

/// <summary>A thin HTTP client of the task API, as a client application would use it.</summary>
public sealed class TaskApi(string baseUrl, string? apiKey = ClusterSettings.ApiKey) : IDisposable
{
    private readonly HttpClient http = CreateClient(baseUrl, apiKey);

    public HttpClient Http => http;

    public Task<HttpResponseMessage> SubmitAsync(string body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/tasks") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return http.SendAsync(request);
    }

    /// <summary>Submits until accepted, waiting out 429s as their Retry-After says, as a well-behaved client does.</summary>
    public async Task<Guid> SubmitAcceptedAsync(string body, string? idempotencyKey = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var response = await SubmitAsync(body, idempotencyKey);
            if (response.StatusCode == HttpStatusCode.TooManyRequests && attempt < 100)
            {
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                continue;
            }

            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"expected 202, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            return (await ReadJsonAsync(response)).GetProperty("id").GetGuid();
        }
    }

    public async Task<JsonElement> GetAsync(Guid id)
    {
        using var response = await http.GetAsync(new Uri($"/tasks/{id}", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await ReadJsonAsync(response);
    }

    public async Task<JsonElement> WaitForStatusAsync(Guid id, string status, TimeSpan? timeout = null) =>
        await WaitForAsync(id, task => task.GetProperty("status").GetString() == status, $"task {id} to be {status}", timeout);

    public async Task<JsonElement> WaitForAsync(Guid id, Func<JsonElement, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var task = await GetAsync(id);
            if (condition(task))
            {
                return task;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}. Last seen: {task}");
            }

            await Task.Delay(50);
        }
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    public void Dispose() => http.Dispose();

    private static HttpClient CreateClient(string baseUrl, string? apiKey)
    {
        var client = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }
}
