using Microsoft.Playwright;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Tests;

/// <summary>
/// report.html as a person opens it: Debian's Chromium, headless, driven by Playwright (as the end-to-end
/// dashboard tests do), loading the file with every network request refused. Skipped, with the reason, when
/// Chromium is not installed. The screenshot is kept under artifacts/drill/ for a person to look at.
/// </summary>
public sealed class ExperimentHtmlTests
{
    /// <summary>Debian's package; Playwright's own browser builds cannot be downloaded here.</summary>
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Report_html_renders_its_charts_offline_in_headless_Chromium()
    {
        if (!File.Exists(Chromium))
        {
            Assert.Skip($"{Chromium} is not installed (Debian package 'chromium').");
        }

        var directory = Directory.CreateTempSubdirectory("experiment-html-");
        try
        {
            var file = Path.Combine(directory.FullName, "report.html");
            await File.WriteAllTextAsync(file, ExperimentHtml.Render(ExperimentReports.Small()), TestContext.Current.CancellationToken);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,

                // Tests run as root, where Chromium's sandbox cannot start; nothing may reach the network.
                Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 900 } });
            var requests = new List<string>();
            var errors = new List<string>();
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    errors.Add(message.Text);
                }
            };
            page.PageError += (_, error) => errors.Add(error);
            await page.RouteAsync("**/*", async route =>
            {
                if (route.Request.Url.StartsWith("file:", StringComparison.Ordinal))
                {
                    await route.ContinueAsync();
                }
                else
                {
                    requests.Add(route.Request.Url);
                    await route.AbortAsync();
                }
            });

            await page.GotoAsync(new Uri(file).AbsoluteUri);

            Assert.Contains("fault-tolerance experiment", await page.TitleAsync(), StringComparison.Ordinal);
            Assert.Equal(2, await page.Locator("#ttd-ttr-chart circle.ttd").CountAsync());
            Assert.Equal(2, await page.Locator("#ttd-ttr-chart circle.ttr").CountAsync());
            Assert.Equal(2, await page.Locator("section.phase svg.timeline").CountAsync());
            Assert.Equal(3, await page.Locator("section.phase svg.timeline polyline.acks").CountAsync());
            Assert.Equal(6, await page.Locator("#phase-crash-primary svg.timeline line.marker").CountAsync());
            var chart = await page.Locator("#ttd-ttr-chart").BoundingBoxAsync();
            Assert.NotNull(chart);
            Assert.True(chart.Width > 900 && chart.Height > 100, $"the TTD/TTR chart is drawn {chart.Width} x {chart.Height}");
            var dot = await page.Locator("#ttd-ttr-chart circle.ttr").Last.BoundingBoxAsync();
            Assert.True(dot is not null && dot.X > chart.X + 150, "a TTR dot sits on the chart's scale, right of its labels");
            Assert.Contains("crash-primary", await page.Locator("#summary table").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(0, await page.Locator("script, link, img, iframe, [src]").CountAsync());
            Assert.Empty(requests);
            Assert.Empty(errors);

            await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("experiment-report.png"), FullPage = true });
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Under artifacts/drill at the repository root (git-ignored), wherever the test runs from.</summary>
    private static string ScreenshotPath(string name)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "TaskServer.sln")))
        {
            root = root.Parent;
        }

        var artifacts = Directory.CreateDirectory(Path.Combine(root?.FullName ?? throw new InvalidOperationException("TaskServer.sln not found above " + AppContext.BaseDirectory), "artifacts", "drill"));
        return Path.Combine(artifacts.FullName, name);
    }
}
