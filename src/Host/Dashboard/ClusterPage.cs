using System.Globalization;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;
using Microsoft.AspNetCore.Http.Features;
using TaskServer.Host.Cluster;

namespace TaskServer.Host.Dashboard;

/// <summary><see cref="ClusterView"/> as HTML, inside the dashboard's layout and menu.</summary>
internal sealed class ClusterPage : DashboardPage
{
    /// <summary>How often the page re-reads itself.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(3);

    // Re-reads the page and swaps in the cluster section only: no flicker, and the scroll position stays.
    // A failed read leaves the last view up; its "as of" time shows how old it is.
    private const string RefreshScript = """
        <script>
        (function () {
            var section = function () { return document.getElementById('cluster'); };
            setInterval(function () {
                fetch(window.location.href, { credentials: 'same-origin', cache: 'no-store' })
                    .then(function (response) { return response.ok ? response.text() : null; })
                    .then(function (html) {
                        var next = html && new DOMParser().parseFromString(html, 'text/html').getElementById('cluster');
                        if (next) { section().replaceWith(next); }
                    })
                    .catch(function () { });
            }, Number(section().getAttribute('data-refresh-ms')));
        })();
        </script>
        """;

    public override void Execute()
    {
        Layout = new LayoutPage(ClusterDashboard.Title);
        var view = Context.GetHttpContext().Features.GetRequiredFeature<ClusterView>();

        WriteLiteral("""<div class="row"><div class="col-md-12">""");
        WriteLiteral("""<h1 class="page-header">Cluster</h1>""");
        WriteLiteral("<div id=\"cluster\" data-refresh-ms=\"");
        Write(Math.Round(RefreshInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        WriteLiteral("\">");
        WriteSummary(view);
        WriteLease(view);
        WriteGateways(view);
        WriteWorkers(view);
        WriteFailovers(view);
        WriteLiteral("</div>");
        WriteLiteral(RefreshScript);
        WriteLiteral("</div></div>");
    }

    private void WriteSummary(ClusterView view)
    {
        WriteLiteral("""<p class="text-muted">As seen by """);
        Field("span", "self", view.Self.Id);
        WriteLiteral(" (");
        Field("span", "self-role", view.Self.IsPrimary ? NodeView.Primary : NodeView.Backup);
        WriteLiteral(") at ");
        Field("span", "generated-at", Timestamp(view.GeneratedAt));
        WriteLiteral("; balancing policy ");
        Field("strong", "policy", view.Policy);
        WriteLiteral(". Refreshes every ");
        Write(RefreshInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        WriteLiteral(" s.</p>");
    }

    private void WriteLease(ClusterView view)
    {
        WriteLiteral("<h3>Primary lease</h3>");
        if (view.Lease is not { } lease)
        {
            WriteLiteral("""<div class="alert alert-warning" id="cluster-lease">This gateway has not seen the primary lease.</div>""");
            return;
        }

        WriteLiteral("""<dl class="dl-horizontal" id="cluster-lease">""");
        WriteLiteral("<dt>Holder</dt>");
        Field("dd", "holder", lease.Holder);
        WriteLiteral("<dt>URL</dt><dd data-field=\"holder-url\">");
        WriteLink(lease.HolderUrl);
        WriteLiteral("</dd><dt>Epoch</dt>");
        Field("dd", "epoch", lease.Epoch.ToString(CultureInfo.InvariantCulture));
        WriteLiteral("<dt>Time left</dt>");
        Field("dd", "remaining", Seconds(lease.RemainingMs) + " (expires " + Timestamp(lease.ExpiresAt) + ")");
        WriteLiteral("</dl>");
    }

    private void WriteGateways(ClusterView view)
    {
        WriteLiteral("<h3>Gateways</h3>");
        var gateways = view.Nodes.Where(n => n.Gateway is not null).ToList();
        if (gateways.Count == 0)
        {
            WriteLiteral("""<p class="text-muted" id="cluster-gateways">No gateway is registered.</p>""");
            return;
        }

        WriteLiteral("""<table class="table table-striped" id="cluster-gateways">""");
        WriteLiteral("<thead><tr><th>Node</th><th>URL</th><th>Role</th><th>Live</th><th>Last heartbeat</th></tr></thead><tbody>");
        foreach (var node in gateways)
        {
            StartRow(node.Id);
            Field("td", "node", node.Id);
            WriteLiteral("<td data-field=\"url\">");
            WriteLink(node.Url);
            WriteLiteral("</td><td data-field=\"role\">");
            Label(node.Gateway == NodeView.Primary ? "label-primary" : "label-default", node.Gateway!);
            WriteLiteral("</td>");
            WriteLive(node);
            Field("td", "heartbeat-age", Seconds(node.HeartbeatAgeMs) + " ago");
            WriteLiteral("</tr>");
        }

        WriteLiteral("</tbody></table>");
    }

    private void WriteWorkers(ClusterView view)
    {
        WriteLiteral("<h3>Workers</h3>");
        var workers = view.Nodes.Where(n => n.Routed is not null).ToList();
        if (workers.Count == 0)
        {
            WriteLiteral("""<p class="text-muted" id="cluster-workers">No worker is registered.</p>""");
            return;
        }

        WriteLiteral("""<table class="table table-striped" id="cluster-workers">""");
        WriteLiteral("<thead><tr><th>Node</th><th>Role</th><th>Queued</th><th>Running</th><th>Capacity</th><th>Last heartbeat</th><th>Live</th><th>Quarantined</th><th>Routed to</th></tr></thead><tbody>");
        foreach (var node in workers)
        {
            StartRow(node.Id);
            Field("td", "node", node.Id);
            Field("td", "role", node.Role);
            Field("td", "queued", node.Queued.ToString(CultureInfo.InvariantCulture));
            Field("td", "running", node.Running.ToString(CultureInfo.InvariantCulture));
            Field("td", "capacity", node.Capacity.ToString(CultureInfo.InvariantCulture));
            Field("td", "heartbeat-age", Seconds(node.HeartbeatAgeMs) + " ago");
            WriteLive(node);
            WriteLiteral("<td data-field=\"quarantined\">");
            Label(node.Quarantined == true ? "label-danger" : "label-success", node.Quarantined == true ? "yes" : "no");
            WriteLiteral("</td>");
            WriteLiteral("<td data-field=\"routed\">");
            Label(node.Routed == true ? "label-success" : "label-danger", node.Routed == true ? "yes" : "no");
            WriteLiteral(""" <small class="text-muted">""");
            Write("probe " + (node.ProbeHealth ?? "none") + ", passive " + (node.PassiveHealth ?? "none"));
            WriteLiteral("</small></td></tr>");
        }

        WriteLiteral("</tbody></table>");
    }

    private void WriteFailovers(ClusterView view)
    {
        WriteLiteral("<h3>Failovers</h3>");
        if (view.Failovers.Count == 0)
        {
            WriteLiteral("""<p class="text-muted" id="cluster-failovers">No failover yet.</p>""");
            return;
        }

        WriteLiteral("""<table class="table table-striped" id="cluster-failovers">""");
        WriteLiteral("<thead><tr><th>Promoted at</th><th>Suspected at</th><th>Old holder</th><th>New holder</th><th>Epoch</th>");
        WriteLiteral("""<th title="Time to detect: from the new primary's last good probe of the old one to suspecting it">TTD</th>""");
        WriteLiteral("""<th title="Time to recover, as the new primary measured it: from its last good probe of the old one to holding the lease">TTR</th>""");
        WriteLiteral("</tr></thead><tbody>");
        foreach (var failover in view.Failovers)
        {
            WriteLiteral("<tr>");
            Field("td", "promoted-at", Timestamp(failover.PromotedAt));
            Field("td", "suspected-at", failover.SuspectedAt is { } suspected ? Timestamp(suspected) : "-");
            Field("td", "old-holder", failover.OldHolder ?? "-");
            Field("td", "new-holder", failover.NewHolder);
            Field("td", "epoch", failover.Epoch.ToString(CultureInfo.InvariantCulture));
            Field("td", "ttd-ms", Milliseconds(failover.TtdMs));
            Field("td", "ttr-ms", Milliseconds(failover.PromotedAfterMs));
            WriteLiteral("</tr>");
        }

        WriteLiteral("</tbody></table>");
    }

    private void StartRow(string nodeId)
    {
        WriteLiteral("<tr data-node=\"");
        Write(nodeId);
        WriteLiteral("\">");
    }

    private void WriteLive(NodeView node)
    {
        WriteLiteral("<td data-field=\"live\">");
        Label(node.Live ? "label-success" : "label-danger", node.Live ? "live" : "down");
        WriteLiteral("</td>");
    }

    /// <summary>A node's URL comes from the registry; only http(s) becomes a link, anything else stays text.</summary>
    private void WriteLink(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            WriteLiteral("<a href=\"");
            Write(uri.AbsoluteUri);
            WriteLiteral("\">");
            Write(url);
            WriteLiteral("</a>");
        }
        else
        {
            Write(url);
        }
    }

    private static string Seconds(double milliseconds) => (milliseconds / 1000).ToString("0.0", CultureInfo.InvariantCulture) + " s";

    private static string Milliseconds(double? milliseconds) =>
        milliseconds is { } ms ? Math.Round(ms).ToString(CultureInfo.InvariantCulture) + " ms" : "-";
}
