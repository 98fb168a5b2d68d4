using Microsoft.Playwright;

namespace TaskServer.Drill.Tests;

/// <summary>
/// A report.html as a person opens it: Debian's Chromium, headless, driven by Playwright (as the end-to-end
/// dashboard tests do), loading the file with every network request refused and recorded, and every error the
/// page logs recorded. The tests skip, with the reason, when Chromium is not installed.
/// </summary>
internal sealed class OfflinePage : IAsyncDisposable
{
    /// <summary>Debian's package; Playwright's own browser builds cannot be downloaded here.</summary>
    public const string Chromium = "/usr/bin/chromium";

    private readonly IPlaywright playwright;
    private readonly IBrowser browser;

    private OfflinePage(IPlaywright playwright, IBrowser browser, IPage page)
    {
        this.playwright = playwright;
        this.browser = browser;
        Page = page;
    }

    public IPage Page { get; }

    /// <summary>Requests the page tried to send anywhere but the file itself: there must be none.</summary>
    public List<string> Requests { get; } = [];

    public List<string> Errors { get; } = [];

    public static async Task<OfflinePage> OpenAsync(string file)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,

            // Tests run as root, where Chromium's sandbox cannot start; nothing may reach the network.
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var opened = new OfflinePage(playwright, browser, await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 900 } }));
        opened.Page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                opened.Errors.Add(message.Text);
            }
        };
        opened.Page.PageError += (_, error) => opened.Errors.Add(error);
        await opened.Page.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url.StartsWith("file:", StringComparison.Ordinal))
            {
                await route.ContinueAsync();
            }
            else
            {
                opened.Requests.Add(route.Request.Url);
                await route.AbortAsync();
            }
        });
        await opened.Page.GotoAsync(new Uri(file).AbsoluteUri);
        return opened;
    }

    /// <summary>Under artifacts/drill (git-ignored), for a person to look at.</summary>
    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Repository.Artifacts(), name), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        await browser.DisposeAsync();
        playwright.Dispose();
    }
}
