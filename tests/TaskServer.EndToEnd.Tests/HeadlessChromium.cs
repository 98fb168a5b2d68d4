using Microsoft.Playwright;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// Debian's Chromium driven by Playwright, headless, as an operator's browser; the test is skipped with the
/// reason when it is not installed. Screenshots are kept for a person to look at.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    /// <summary>Debian's package; Playwright's own browser builds cannot be downloaded here.</summary>
    private const string Executable = "/usr/bin/chromium";

    private readonly IPlaywright playwright;

    private HeadlessChromium(IPlaywright playwright, IBrowser browser)
    {
        this.playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<HeadlessChromium> LaunchAsync()
    {
        if (!File.Exists(Executable))
        {
            Assert.Skip($"{Executable} is not installed (Debian package 'chromium'; .ci/run installs it).");
        }

        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Executable,
                Headless = true,
                Args =
                [
                    // Tests run as root, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    // Nothing but the node on loopback may be contacted.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            });
            return new HeadlessChromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A browser context that answers the dashboard's Basic challenge with the admin key.</summary>
    public Task<IBrowserContext> NewAdminContextAsync() =>
        Browser.NewContextAsync(new BrowserNewContextOptions
        {
            HttpCredentials = new HttpCredentials { Username = "admin", Password = ClusterSettings.AdminKey },
        });

    /// <summary>Under artifacts/dashboard at the repository root (git-ignored), wherever the test runs from.</summary>
    public static string ScreenshotPath(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "TaskServer.sln")))
        {
            directory = directory.Parent;
        }

        if (directory is null)
        {
            throw new InvalidOperationException("TaskServer.sln not found above " + AppContext.BaseDirectory);
        }

        var artifacts = Directory.CreateDirectory(Path.Combine(directory.FullName, "artifacts", "dashboard"));
        return Path.Combine(artifacts.FullName, name);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        playwright.Dispose();
    }
}
