using System.Globalization;
using System.Net;
using System.Text;

namespace TaskServer.Drill.Cluster;

/// <summary>
/// <c>cluster status</c> (what <c>scripts/cluster.sh status</c> prints): each node of the cluster file with
/// its process and role, then the lease, the registry and the last change of primary from GET /cluster.
/// </summary>
internal sealed class ClusterStatus(ClusterEnv env, ClusterApi api)
{
    public async Task<string> RenderAsync(CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        text.AppendLine(Row("NODE", "PID", "STATE", "URL", "ROLE"));
        Uri? primary = null;
        foreach (var member in env.Members)
        {
            var pid = await new NodeSignals(env).FindPidAsync(member.Name, cancellationToken);
            var up = pid is { } p && await NodeSignals.IsNodeProcessAsync(p, cancellationToken);
            var role = "-";
            if (up)
            {
                role = member.IsGateway ? await GatewayRoleAsync(member.Url, cancellationToken) : await WorkerRoleAsync(member.Url, cancellationToken);
                primary = role == "primary" ? member.Url : primary;
            }

            text.AppendLine(Row(member.Name, pid?.ToString(CultureInfo.InvariantCulture) ?? "-", up ? "up" : "down", member.Url.ToString().TrimEnd('/'), role));
        }

        ClusterView? view = null;
        foreach (var gateway in (primary is null ? [] : new[] { primary }).Concat(env.Gateways))
        {
            view = await api.GetClusterAsync(gateway, cancellationToken);
            if (view is not null)
            {
                break;
            }
        }

        text.Append(Describe(view));
        return text.ToString();
    }

    /// <summary>The lease, the registry and the last failover as one gateway reported them; what a person reads after the node table.</summary>
    public static string Describe(ClusterView? view)
    {
        if (view is null)
        {
            return "lease: unknown (no gateway answers GET /cluster)\n";
        }

        var text = new StringBuilder();
        text.AppendLine(view.Lease is { } lease
            ? string.Create(CultureInfo.InvariantCulture, $"lease: holder {lease.Holder} ({lease.HolderUrl}), epoch {lease.Epoch}, {lease.RemainingMs / 1000:0.0} s left (as {view.Self.Url} last read it)")
            : "lease: not held");
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"registry: {view.Nodes.Count(n => n.Live)} live node(s) of {view.Nodes.Count} recorded"));
        if (view.Failovers.Count > 0)
        {
            var last = view.Failovers[0];
            var line = string.Create(CultureInfo.InvariantCulture, $"last change of primary: {last.OldHolder ?? "-"} -> {last.NewHolder} at {last.PromotedAt:O}, epoch {last.Epoch}");
            if (last.TtdMs is { } ttd)
            {
                line += string.Create(CultureInfo.InvariantCulture, $", detected after {ttd:0} ms");
            }

            if (last.PromotedAfterMs is { } promoted)
            {
                line += string.Create(CultureInfo.InvariantCulture, $", promoted after {promoted:0} ms");
            }

            text.AppendLine(line);
        }

        return text.ToString();
    }

    private static string Row(string node, string pid, string state, string url, string role) =>
        $"{node,-6} {pid,-8} {state,-5} {url,-23} {role}";

    private async Task<string> GatewayRoleAsync(Uri url, CancellationToken cancellationToken) =>
        await api.HealthAsync(url, "primary", TimeSpan.FromSeconds(2), cancellationToken) switch
        {
            HttpStatusCode.OK => "primary",
            HttpStatusCode.ServiceUnavailable => "backup",
            null => "gateway (not answering)",
            { } code => $"gateway (not answering: {(int)code})",
        };

    private async Task<string> WorkerRoleAsync(Uri url, CancellationToken cancellationToken) =>
        await api.HealthAsync(url, "live", TimeSpan.FromSeconds(2), cancellationToken) == HttpStatusCode.OK ? "worker" : "worker (not answering)";
}
