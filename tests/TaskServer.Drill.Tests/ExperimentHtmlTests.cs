using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Tests;

/// <summary>report.html of the experiment in headless Chromium (<see cref="OfflinePage"/>); the screenshot is kept under artifacts/drill/.</summary>
public sealed class ExperimentHtmlTests
{
    [Fact]
    public async Task Report_html_renders_its_charts_offline_in_headless_Chromium()
    {
        if (!File.Exists(OfflinePage.Chromium))
        {
            Assert.Skip($"{OfflinePage.Chromium} is not installed (Debian package 'chromium').");
        }

        var directory = Directory.CreateTempSubdirectory("experiment-html-");
        try
        {
            var file = Path.Combine(directory.FullName, "report.html");
            await File.WriteAllTextAsync(file, ExperimentHtml.Render(ExperimentReports.Small()), TestContext.Current.CancellationToken);

            await using var opened = await OfflinePage.OpenAsync(file);
            var page = opened.Page;

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
            Assert.Empty(opened.Requests);
            Assert.Empty(opened.Errors);

            await opened.ScreenshotAsync("experiment-report.png");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
