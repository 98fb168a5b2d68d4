using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TaskServer.Drill.Cluster;

namespace TaskServer.Drill.Tests;

public sealed class ClusterEnvTests
{
    private const string Complete = """
        # Written by scripts/cluster.sh up; read by clients and the drill CLI.
        GATEWAYS=http://127.0.0.1:5080,http://127.0.0.1:5081
        WORKERS=http://127.0.0.1:5090,http://127.0.0.1:5091
        NODES=alpha,beta,w1,w2
        POLICY=RoundRobin
        API_KEY=api0123456789abcdef0123456789ab
        ADMIN_KEY=adm0123456789abcdef0123456789ab
        CLUSTER_SECRET=sec0123456789abcdef0123456789ab
        STORAGE_PROVIDER=PostgreSql
        STORAGE_CONNECTION_STRING='Host=127.0.0.1;Port=55440;Username=taskserver;Database=taskserver'
        PIDS_DIR='/work/main/.cluster/pids'
        LOGS_DIR='/work/main/.cluster/logs'
        FAULTS=1
        CLUSTER_SCRIPT='/work/main/scripts/cluster.sh'
        """;

    [Fact]
    public void Reads_the_file_cluster_sh_writes()
    {
        var env = ClusterEnv.Parse(Complete, "env");

        Assert.Equal([new Uri("http://127.0.0.1:5080"), new Uri("http://127.0.0.1:5081")], env.Gateways);
        Assert.Equal([new Uri("http://127.0.0.1:5090"), new Uri("http://127.0.0.1:5091")], env.Workers);
        Assert.Equal(["alpha", "beta", "w1", "w2"], env.Nodes);
        Assert.Equal("RoundRobin", env.Policy);
        Assert.Equal("adm0123456789abcdef0123456789ab", env.AdminKey);
        Assert.Equal(ClusterEnv.PostgreSql, env.StorageProvider);
        Assert.True(env.IsPostgreSql);
        Assert.Equal("Host=127.0.0.1;Port=55440;Username=taskserver;Database=taskserver", env.StorageConnectionString);
        Assert.Equal("/work/main/.cluster/pids/alpha.pid", env.PidFile("alpha"));
        Assert.Null(env.StorageDatabase);
    }

    [Fact]
    public void A_tls_cluster_names_its_ca_and_second_client_key_and_the_ca_loads()
    {
        using var key = ECDsa.Create();
        using var issued = new CertificateRequest("CN=taskserver test CA", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(Path.GetTempPath(), $"ca-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, issued.ExportCertificatePem());
        try
        {
            var tls = Complete.Replace("http://", "https://", StringComparison.Ordinal) + $"\nAPI_KEY_2=api2123456789abcdef0123456789ab\nCA_CERT='{path}'\n";

            var env = ClusterEnv.Parse(tls, "env");
            using var ca = env.LoadCaCertificate();

            Assert.Equal("api2123456789abcdef0123456789ab", env.ApiKey2);
            Assert.Equal(path, env.CaCert);
            Assert.Equal(issued.Thumbprint, ca?.Thumbprint);
            Assert.All(env.Gateways, gateway => Assert.Equal(Uri.UriSchemeHttps, gateway.Scheme));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_plain_cluster_has_no_ca_and_an_unreadable_ca_is_named()
    {
        var plain = ClusterEnv.Parse(Complete, "env");
        var missing = ClusterEnv.Parse(Complete + "\nCA_CERT=/no/such/ca.pem\n", "env");

        Assert.Null(plain.CaCert);
        Assert.Null(plain.ApiKey2);
        Assert.Null(plain.LoadCaCertificate());
        var error = Assert.Throws<ClusterEnvException>(missing.LoadCaCertificate);
        Assert.Contains("/no/such/ca.pem", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KEY=plain", "plain")]
    [InlineData("KEY='single quoted; $HOME stays'", "single quoted; $HOME stays")]
    [InlineData("KEY=\"double \\\"quoted\\\" \\$x\"", "double \"quoted\" $x")]
    [InlineData("KEY='it'\\''s'", "it's")]
    [InlineData("export KEY=exported", "exported")]
    [InlineData("KEY=value # a comment", "value")]
    [InlineData("  KEY=indented  ", "indented")]
    [InlineData("KEY=", "")]
    [InlineData("KEY=a=b", "a=b")]
    public void Values_are_read_as_the_shell_reads_them(string line, string expected)
    {
        var values = ClusterEnv.ParseAssignments(line, "env");

        Assert.Equal(expected, values["KEY"]);
    }

    [Fact]
    public void Comments_blank_lines_and_CRLF_are_ignored()
    {
        var values = ClusterEnv.ParseAssignments("# comment\r\n\r\nA=1\r\n   # indented comment\r\nB='2'\r\n", "env");

        Assert.Equal(2, values.Count);
        Assert.Equal("1", values["A"]);
        Assert.Equal("2", values["B"]);
    }

    [Fact]
    public void Missing_keys_are_named_with_the_file()
    {
        var text = string.Join('\n', Complete.Split('\n').Where(l => !l.StartsWith("ADMIN_KEY", StringComparison.Ordinal) && !l.StartsWith("PIDS_DIR", StringComparison.Ordinal)));

        var error = Assert.Throws<ClusterEnvException>(() => ClusterEnv.Parse(text, "/x/.cluster/env"));

        Assert.Contains("/x/.cluster/env", error.Message, StringComparison.Ordinal);
        Assert.Contains("missing ADMIN_KEY, PIDS_DIR", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_required_value_counts_as_missing()
    {
        var error = Assert.Throws<ClusterEnvException>(() => ClusterEnv.Parse(Complete.Replace("API_KEY=api0123456789abcdef0123456789ab", "API_KEY=''", StringComparison.Ordinal), "env"));

        Assert.Contains("missing API_KEY", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KEY='open", "env:1: unterminated single quote")]
    [InlineData("KEY=\"open", "env:1: unterminated double quote")]
    [InlineData("just words", "env:1: expected KEY=VALUE")]
    [InlineData("A=1\n=2", "env:2: expected KEY=VALUE")]
    [InlineData("KEY=two words", "env:1: unquoted space")]
    public void Malformed_lines_are_reported_with_their_line_number(string text, string expected)
    {
        var error = Assert.Throws<ClusterEnvException>(() => ClusterEnv.ParseAssignments(text, "env"));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Provider_is_checked_and_normalised()
    {
        Assert.Equal(ClusterEnv.Mongo, ClusterEnv.Parse(Complete.Replace("=PostgreSql", "=mongo", StringComparison.Ordinal), "env").StorageProvider);

        var error = Assert.Throws<ClusterEnvException>(() => ClusterEnv.Parse(Complete.Replace("=PostgreSql", "=Sqlite", StringComparison.Ordinal), "env"));
        Assert.Contains("STORAGE_PROVIDER must be PostgreSql or Mongo, was 'Sqlite'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Urls_must_be_http()
    {
        var error = Assert.Throws<ClusterEnvException>(() => ClusterEnv.Parse(Complete.Replace("WORKERS=http://127.0.0.1:5090,", "WORKERS=127.0.0.1:5090,", StringComparison.Ordinal), "env"));

        Assert.Contains("WORKERS holds '127.0.0.1:5090'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_says_how_to_make_one()
    {
        var error = await Assert.ThrowsAsync<ClusterEnvException>(() => ClusterEnv.LoadAsync("/nonexistent/.cluster/env", TestContext.Current.CancellationToken));

        Assert.Contains("scripts/cluster.sh up", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nodes_are_paired_with_their_urls_gateways_first()
    {
        var env = ClusterEnv.Parse(Complete, "env");

        Assert.Equal(
            [
                new ClusterMember("alpha", new Uri("http://127.0.0.1:5080"), true),
                new ClusterMember("beta", new Uri("http://127.0.0.1:5081"), true),
                new ClusterMember("w1", new Uri("http://127.0.0.1:5090"), false),
                new ClusterMember("w2", new Uri("http://127.0.0.1:5091"), false),
            ],
            env.Members);
        Assert.True(env.FaultsEnabled);
        Assert.Equal("/work/main/scripts/cluster.sh", env.RequireClusterScript());
    }

    [Fact]
    public void Without_the_newer_keys_there_are_no_members_faults_or_script()
    {
        var env = ClusterEnv.Parse(
            string.Join('\n', Complete.Split('\n').Where(l => !l.StartsWith("FAULTS", StringComparison.Ordinal) && !l.StartsWith("CLUSTER_SCRIPT", StringComparison.Ordinal)))
                .Replace("NODES=alpha,beta,w1,w2", "NODES=alpha,beta", StringComparison.Ordinal),
            "env");

        Assert.Empty(env.Members);
        Assert.False(env.FaultsEnabled);
        Assert.Contains("no CLUSTER_SCRIPT", Assert.Throws<ClusterEnvException>(env.RequireClusterScript).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_describes_the_lease_the_registry_and_the_last_failover()
    {
        var view = new ClusterView(
            new SelfView("beta-1", "Standalone", "http://127.0.0.1:5081", true),
            new LeaseView("beta-1", "http://127.0.0.1:5081", 7, DateTimeOffset.UnixEpoch, 1540),
            "RoundRobin",
            [new NodeView("beta-1", "Standalone", "http://127.0.0.1:5081", true, 100, 0, 0, 16), new NodeView("alpha-1", "Standalone", "http://127.0.0.1:5080", false, 9000, 0, 0, 16)],
            [new FailoverView("alpha-1", "beta-1", 7, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 812.4, 1490.6)]);

        var text = ClusterStatus.Describe(view);

        Assert.Contains("lease: holder beta-1 (http://127.0.0.1:5081), epoch 7, 1.5 s left (as http://127.0.0.1:5081 last read it)", text, StringComparison.Ordinal);
        Assert.Contains("registry: 1 live node(s) of 2 recorded", text, StringComparison.Ordinal);
        Assert.Contains("last change of primary: alpha-1 -> beta-1 at 1970-01-01T00:00:00.0000000+00:00, epoch 7, detected after 812 ms, promoted after 1491 ms", text, StringComparison.Ordinal);
        Assert.Equal("lease: unknown (no gateway answers GET /cluster)\n", ClusterStatus.Describe(null));
    }

    [Theory]
    [InlineData("""{"status":"Healthy","checks":[{"name":"storage","data":{}},{"name":"workers","data":{"healthy":3,"known":4}}]}""", 3)]
    [InlineData("""{"status":"Unhealthy","checks":[{"name":"workers","data":{"healthy":0,"known":0}}]}""", 0)]
    [InlineData("""{"status":"Healthy","checks":[{"name":"storage"}]}""", 0)]
    [InlineData("""{"status":"Healthy"}""", 0)]
    [InlineData("[]", 0)]
    public void Healthy_workers_are_read_from_the_ready_checks(string body, int healthy) =>
        Assert.Equal(healthy, ClusterApi.HealthyWorkers(System.Text.Json.JsonDocument.Parse(body).RootElement));

    [Theory]
    [InlineData("alpha-3fa2c1", "alpha")]
    [InlineData("w12-0a0b0c", "w12")]
    [InlineData("my-node-3fa2c1", "my-node")]
    [InlineData("solo", "solo")]
    public void A_node_id_names_its_node(string id, string name) => Assert.Equal(name, NodeSignals.NameOf(id));
}
