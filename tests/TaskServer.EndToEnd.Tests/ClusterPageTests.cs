using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using Microsoft.Playwright;
using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// The Cluster page of the Hangfire dashboard and GET /cluster, read from the new primary after a kill -9 of
/// the old one: both must tell the operator who holds the lease now, at which epoch, and what happened.
/// </summary>
public sealed class ClusterPageTests(FailedOverCluster failedOver) : IClassFixture<FailedOverCluster>
{
    private const string PagePath = "/hangfire/cluster";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task After_the_primary_is_killed_the_page_on_the_new_primary_names_it_its_epoch_and_the_failover()
    {
        // Beta holds the lease a moment before it has written the failover event.
        var page = await Eventually.ReturnsAsync(
            async () =>
            {
                var document = await ReadAdminPageAsync(PagePath);
                return FailoverRows(document).Any(row => Field(row, "epoch") == "2") ? document : null;
            },
            Deadline,
            "the Cluster page to list the failover to epoch 2");

        var lease = page.QuerySelector("#cluster-lease")!;
        Assert.Equal(failedOver.BetaId, Field(lease, "holder"));
        Assert.Equal(failedOver.NewPrimary.Url, Field(lease, "holder-url"));
        Assert.Equal("2", Field(lease, "epoch"));
        Assert.Matches(@"^\d+\.\d s \(expires .+ UTC\)$", Field(lease, "remaining"));
        Assert.Equal(failedOver.BetaId, Field(page, "self"));
        Assert.Equal("primary", Field(page, "self-role"));

        var failover = Assert.Single(FailoverRows(page), row => Field(row, "epoch") == "2");
        Assert.Equal(failedOver.AlphaId, Field(failover, "old-holder"));
        Assert.Equal(failedOver.BetaId, Field(failover, "new-holder"));
        var ttd = Milliseconds(Field(failover, "ttd-ms"));
        var ttr = Milliseconds(Field(failover, "ttr-ms"));
        Assert.InRange(ttd, 1, 60_000);
        Assert.InRange(ttr, ttd, 60_000);
        var first = Assert.Single(FailoverRows(page), row => Field(row, "epoch") == "1");
        Assert.Equal(failedOver.AlphaId, Field(first, "new-holder"));

        var beta = page.QuerySelector($"#cluster-gateways tr[data-node='{failedOver.BetaId}']")!;
        Assert.Equal("primary", Field(beta, "role"));
        Assert.Equal("live", Field(beta, "live"));
        var worker = page.QuerySelector($"#cluster-workers tr[data-node='{failedOver.WorkerId}']")!;
        Assert.Equal("live", Field(worker, "live"));
        Assert.StartsWith("yes", Field(worker, "routed"), StringComparison.Ordinal);
        Assert.Equal("8", Field(worker, "capacity"));
    }

    [Fact]
    public async Task The_page_is_refused_without_admin_credentials()
    {
        using var http = new HttpClient { BaseAddress = new Uri(failedOver.NewPrimary.Url) };

        using var anonymous = await http.GetAsync(new Uri(PagePath, UriKind.Relative), TestContext.Current.CancellationToken);
        using var clientKey = await SendAsync(http, PagePath, ClusterSettings.ApiKey);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.StartsWith("Basic", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(failedOver.BetaId, await anonymous.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, clientKey.StatusCode);
    }

    [Fact]
    public async Task The_json_view_is_the_same_cluster_as_the_page()
    {
        var view = await Eventually.ReturnsAsync<JsonDocument>(
            async () =>
            {
                var json = await ReadAdminJsonAsync();
                if (json.RootElement.GetProperty("failovers").EnumerateArray().Any(f => f.GetProperty("epoch").GetInt64() == 2))
                {
                    return json;
                }

                json.Dispose();
                return null;
            },
            Deadline,
            "GET /cluster to list the failover to epoch 2");
        using var _ = view;
        var root = view.RootElement;

        Assert.Equal(failedOver.BetaId, root.GetProperty("lease").GetProperty("holder").GetString());
        Assert.Equal(2, root.GetProperty("lease").GetProperty("epoch").GetInt64());
        Assert.True(root.GetProperty("self").GetProperty("isPrimary").GetBoolean());
        var nodes = root.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("id").GetString()!);
        Assert.Equal("primary", nodes[failedOver.BetaId].GetProperty("gateway").GetString());
        Assert.True(nodes[failedOver.WorkerId].GetProperty("routed").GetBoolean());
        Assert.Equal(JsonValueKind.Null, nodes[failedOver.WorkerId].GetProperty("gateway").ValueKind);
        var failover = root.GetProperty("failovers").EnumerateArray().Single(f => f.GetProperty("epoch").GetInt64() == 2);
        Assert.Equal(failedOver.AlphaId, failover.GetProperty("oldHolder").GetString());
        Assert.Equal(failedOver.BetaId, failover.GetProperty("newHolder").GetString());
    }

    [Fact]
    public async Task The_dashboard_home_shows_the_primary_epoch_and_healthy_workers_tiles()
    {
        // Alpha leaves routing once its heartbeat is older than the worker timeout: beta and w1 remain.
        var home = await Eventually.ReturnsAsync(
            async () =>
            {
                var document = await ReadAdminPageAsync("/hangfire/");
                return Tile(document, "cluster:healthy-workers") == "2 / 2" ? document : null;
            },
            Deadline,
            "the healthy-workers tile to read 2 / 2");

        Assert.Equal("2", Tile(home, "cluster:primary-epoch"));
        var epochTile = home.QuerySelector(".metric-body[data-metric='cluster:primary-epoch']")!.ParentElement!;
        Assert.Equal("Primary epoch", epochTile.QuerySelector(".metric-description")!.TextContent.Trim());
        var menu = home.QuerySelector("ul.navbar-nav a[href='/hangfire/cluster']")!;
        Assert.StartsWith("Cluster", menu.TextContent.Trim(), StringComparison.Ordinal);
        Assert.Equal("2 / 2", menu.QuerySelector("[data-metric='cluster:healthy-workers']")!.TextContent.Trim());
    }

    [Fact]
    public async Task In_a_browser_the_page_shows_the_new_primary_and_refreshes_itself()
    {
        await using var browser = await HeadlessChromium.LaunchAsync();
        await using var context = await browser.NewAdminContextAsync();
        var page = await context.NewPageAsync();

        var response = await page.GotoAsync(failedOver.NewPrimary.Url + PagePath);

        Assert.Equal(200, response?.Status);
        await Assertions.Expect(page.Locator("#cluster-lease [data-field=holder]")).ToHaveTextAsync(failedOver.BetaId);
        await Assertions.Expect(page.Locator("#cluster-lease [data-field=epoch]")).ToHaveTextAsync("2");
        await Assertions.Expect(page.Locator("#cluster-failovers [data-field=old-holder]", new PageLocatorOptions { HasTextString = failedOver.AlphaId })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("ul.navbar-nav li.active a")).ToContainTextAsync("Cluster");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = HeadlessChromium.ScreenshotPath("cluster.png"), FullPage = true });

        var shown = await page.Locator("[data-field=generated-at]").TextContentAsync();
        await Assertions.Expect(page.Locator("[data-field=generated-at]")).Not.ToHaveTextAsync(shown!, new LocatorAssertionsToHaveTextOptions { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("#cluster-lease [data-field=holder]")).ToHaveTextAsync(failedOver.BetaId);
    }

    private static IEnumerable<IElement> FailoverRows(IParentNode page) => page.QuerySelectorAll("#cluster-failovers tbody tr");

    private static string Field(IParentNode scope, string name) =>
        scope.QuerySelector($"[data-field='{name}']")?.TextContent.Trim() ?? throw new Xunit.Sdk.XunitException($"no field '{name}' in {(scope as IElement)?.OuterHtml}");

    private static string? Tile(IParentNode page, string metric) =>
        page.QuerySelector($".metric-body[data-metric='{metric}']")?.TextContent.Trim();

    private static double Milliseconds(string text)
    {
        Assert.EndsWith(" ms", text, StringComparison.Ordinal);
        return double.Parse(text[..^3], System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<IDocument> ReadAdminPageAsync(string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri(failedOver.NewPrimary.Url) };
        using var response = await SendAsync(http, path, ClusterSettings.AdminKey);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {html}");
        return await new HtmlParser().ParseDocumentAsync(html, TestContext.Current.CancellationToken);
    }

    private async Task<JsonDocument> ReadAdminJsonAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(failedOver.NewPrimary.Url) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cluster");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.AdminKey);
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken), cancellationToken: TestContext.Current.CancellationToken);
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, string path, string password)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{password}")));
        return http.SendAsync(request, TestContext.Current.CancellationToken);
    }
}
