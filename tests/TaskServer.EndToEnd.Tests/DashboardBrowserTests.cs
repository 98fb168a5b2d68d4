using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// The Hangfire dashboard as an operator's browser sees it: a real headless Chromium, which must
/// answer the Basic challenge itself and render the pages. The screenshot is kept for a person to look at.
/// </summary>
[Collection(StandaloneNodeGroup.Name)]
public sealed class DashboardBrowserTests(StandaloneFixture cluster)
{
    [Theory]
    [InlineData("/hangfire")]
    [InlineData("/hangfire/tasks")]
    public async Task Without_credentials_the_browser_gets_401_from_the_dashboard(string path)
    {
        await using var browser = await HeadlessChromium.LaunchAsync();
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();

        var url = cluster.Node.Url + path;
        var answer = page.WaitForResponseAsync(url);

        try
        {
            await page.GotoAsync(url);
        }
        catch (PlaywrightException failure) when (failure.Message.Contains("net::ERR_INVALID_AUTH_CREDENTIALS", StringComparison.Ordinal))
        {
            // Headless Chromium has no one to ask for a password, so it abandons the navigation once the 401 arrives.
        }

        var response = await answer;
        Assert.Equal(401, response.Status);
        Assert.StartsWith("Basic", await response.HeaderValueAsync("WWW-Authenticate"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_admin_credentials_the_browser_shows_the_worker_on_the_cluster_page_and_the_task()
    {
        await using var browser = await HeadlessChromium.LaunchAsync();
        var id = await cluster.Api.SubmitAcceptedAsync("""{"type":"echo","payload":"browser"}""");
        var worker = (await cluster.Api.WaitForStatusAsync(id, "Succeeded")).GetProperty("worker").GetString()!;
        await using var context = await browser.NewAdminContextAsync();
        var page = await context.NewPageAsync();

        // Workers run no Hangfire server: the Cluster page is where they show.
        var clusterPage = await page.GotoAsync($"{cluster.Node.Url}/hangfire/cluster");
        Assert.Equal(200, clusterPage?.Status);
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync(worker);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = HeadlessChromium.ScreenshotPath("cluster.png"), FullPage = true });

        await page.GotoAsync($"{cluster.Node.Url}/hangfire/tasks/{id}");
        await Assertions.Expect(page.Locator("#task [data-field='worker']")).ToHaveTextAsync(worker);
        await Assertions.Expect(page.Locator("#task [data-field='timeout']")).ToHaveTextAsync("PT5M");
    }

    [Fact]
    public async Task With_admin_credentials_the_browser_shows_a_failed_task_with_its_error_and_attempts()
    {
        await using var browser = await HeadlessChromium.LaunchAsync();
        var id = await cluster.Api.SubmitAcceptedAsync("""{"type":"fail","payload":{"times":5},"maxAttempts":2}""");
        var stored = await cluster.Api.WaitForStatusAsync(id, "Failed", TimeSpan.FromSeconds(60));
        var worker = stored.GetProperty("worker").GetString()!;
        await using var context = await browser.NewAdminContextAsync();
        var page = await context.NewPageAsync();

        var list = await page.GotoAsync($"{cluster.Node.Url}/hangfire/tasks?status=Failed");
        Assert.Equal(200, list?.Status);
        var row = page.Locator($"#tasks tr[data-task='{id}']");
        await Assertions.Expect(row.Locator("[data-field='status']")).ToHaveTextAsync("Failed");
        await Assertions.Expect(row.Locator("[data-field='error']")).ToContainTextAsync("attempt 2 fails on purpose");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = HeadlessChromium.ScreenshotPath("tasks.png"), FullPage = true });

        await row.Locator("[data-field='id'] a").ClickAsync();
        await page.WaitForURLAsync($"**/hangfire/tasks/{id}");
        var task = page.Locator("#task");
        await Assertions.Expect(task.Locator("[data-field='status']")).ToHaveTextAsync("Failed");
        await Assertions.Expect(task.Locator("[data-field='attempt']")).ToHaveTextAsync("2 of 2");
        await Assertions.Expect(task.Locator("[data-field='worker']")).ToHaveTextAsync(worker);
        await Assertions.Expect(page.Locator("pre[data-field='error']")).ToContainTextAsync("attempt 2 fails on purpose");
        await Assertions.Expect(page.Locator("#task-history tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#task-history tbody tr").Nth(0).Locator("[data-field='outcome']")).ToHaveTextAsync("retried");
        await Assertions.Expect(page.Locator("#task-history tbody tr").Nth(1).Locator("[data-field='outcome']")).ToHaveTextAsync("failed");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = HeadlessChromium.ScreenshotPath("task.png"), FullPage = true });

        // The home page's tiles count tasks: the first look starts a count and the page's own polling shows it, which a
        // loaded machine may take a while to do.
        await page.GotoAsync($"{cluster.Node.Url}/hangfire");
        await Assertions.Expect(page.Locator(".metric-body[data-metric='tasks:failed']")).ToHaveTextAsync(new Regex(@"^\s*[1-9][0-9,]*\s*$"), new() { Timeout = 30_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = HeadlessChromium.ScreenshotPath("home.png"), FullPage = true });
    }
}
