using Microsoft.Playwright;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// The Hangfire dashboard as an operator's browser sees it: a real headless Chromium, which must
/// answer the Basic challenge itself and render the pages. The screenshot is kept for a person to look at.
/// </summary>
[Collection(StandaloneNodeGroup.Name)]
public sealed class DashboardBrowserTests(StandaloneFixture cluster)
{
    [Fact]
    public async Task Without_credentials_the_browser_gets_401_from_the_dashboard()
    {
        await using var browser = await HeadlessChromium.LaunchAsync();
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();

        var url = $"{cluster.Node.Url}/hangfire";
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
    public async Task With_admin_credentials_the_browser_shows_the_worker_its_queue_and_the_succeeded_task()
    {
        await using var browser = await HeadlessChromium.LaunchAsync();
        var id = await cluster.Api.SubmitAcceptedAsync("""{"type":"echo","payload":"browser"}""");
        var worker = (await cluster.Api.WaitForStatusAsync(id, "Succeeded")).GetProperty("worker").GetString()!;
        await using var context = await browser.NewAdminContextAsync();
        var page = await context.NewPageAsync();

        var servers = await page.GotoAsync($"{cluster.Node.Url}/hangfire/servers");
        Assert.Equal(200, servers?.Status);
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync(worker);
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync(worker.Replace('-', '_'));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = HeadlessChromium.ScreenshotPath("servers.png"), FullPage = true });

        var succeeded = await page.GotoAsync($"{cluster.Node.Url}/hangfire/jobs/succeeded");
        Assert.Equal(200, succeeded?.Status);
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync($"task {id}");
    }
}
