namespace TaskServer.Deployment.Tests;

/// <summary>docker-compose.yml: what <c>docker compose up</c> needs to bring up a working cluster (no Docker engine runs here).</summary>
public sealed class ComposeFileTests
{
    private static readonly string[] Roles = ["Standalone", "Gateway", "Worker"];

    private readonly ComposeFile compose = ComposeFile.Load();

    [Fact]
    public void It_has_mongo_two_standalone_nodes_alpha_and_beta_and_two_workers()
    {
        Assert.Contains(ComposeFile.Mongo, compose.Services.Keys);
        Assert.Equal("Standalone", Environment("alpha").Setting("Node__Role"));
        Assert.Equal("Standalone", Environment("beta").Setting("Node__Role"));
        Assert.Equal(2, compose.Nodes.Count(node => Environment(node.Key).Setting("Node__Role") == "Worker"));
    }

    [Fact]
    public void Every_node_is_built_from_the_Dockerfile()
    {
        Assert.All(compose.Nodes, node =>
        {
            var build = node.Value.Map("build");
            var dockerfile = Path.Combine(Repository.PathOf(build.Scalar("context")), build.Has("dockerfile") ? build.Scalar("dockerfile") : "Dockerfile");
            Assert.Equal(Repository.PathOf("Dockerfile"), Path.GetFullPath(dockerfile));
        });
    }

    [Fact]
    public void Every_node_sets_its_role_its_own_url_and_requires_the_cluster_secret()
    {
        Assert.All(compose.Nodes, node =>
        {
            var environment = Environment(node.Key);
            Assert.Contains(environment.Setting("Node__Role"), Roles);
            Assert.Equal(node.Key, new Uri(environment.Setting("Node__Url")).Host);
            Assert.Equal("TASKSERVER_CLUSTER_SECRET", environment.RequiredVariable("Node__ClusterSecret"));
        });
    }

    [Fact]
    public void Every_node_has_an_internal_listener_apart_from_its_client_port_and_never_published()
    {
        Assert.All(compose.Nodes, node =>
        {
            var environment = Environment(node.Key);
            var url = new Uri(environment.Setting("Node__Url"));
            var internalUrl = new Uri(environment.Setting("Node__InternalUrl"));
            var listening = environment.Setting("ASPNETCORE_HTTP_PORTS").Split(';');
            Assert.Equal(node.Key, internalUrl.Host);
            Assert.NotEqual(url.Port, internalUrl.Port);
            Assert.Equal(new[] { url.Port, internalUrl.Port }.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), listening.Order());
            var published = node.Value.Has("ports") ? node.Value.Sequence("ports") : [];
            Assert.DoesNotContain(published, mapping => mapping.EndsWith($":{internalUrl.Port}", StringComparison.Ordinal));
        });
    }

    [Fact]
    public void No_secret_has_a_default_or_a_demo_value()
    {
        Assert.DoesNotContain("change-me", Repository.Read("docker-compose.yml"), StringComparison.Ordinal);
        Assert.Equal("TASKSERVER_MONGO_PASSWORD", compose.Services[ComposeFile.Mongo].Map("environment").RequiredVariable("MONGO_INITDB_ROOT_PASSWORD"));
        Assert.Equal("TASKSERVER_MONGO_KEYFILE", compose.Services[ComposeFile.Mongo].Map("environment").RequiredVariable("MONGO_KEYFILE"));
    }

    [Fact]
    public void Mongo_is_not_published_and_runs_with_a_keyfile_and_a_user_the_nodes_log_in_as()
    {
        var mongo = compose.Services[ComposeFile.Mongo];
        var command = mongo.Sequence("command");

        Assert.False(mongo.Has("ports"), "MongoDB must not be published: write access to it is code execution on the workers.");
        Assert.Equal("/tmp/keyfile", command[command.ToList().IndexOf("--keyFile") + 1]);
        Assert.Contains("/tmp/keyfile", string.Join(' ', mongo.Sequence("entrypoint")), StringComparison.Ordinal);
        var user = mongo.Map("environment").Scalar("MONGO_INITDB_ROOT_USERNAME");
        Assert.All(compose.Nodes, node =>
        {
            var connection = new Uri(Environment(node.Key).Setting("Storage__ConnectionString"));
            Assert.Equal($"{user}:TASKSERVER_MONGO_PASSWORD", connection.UserInfo);
            Assert.Contains("authSource=admin", connection.Query, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Every_node_shares_one_cluster_secret()
    {
        Assert.Single(compose.Nodes.Select(node => Environment(node.Key).Setting("Node__ClusterSecret")).Distinct());
    }

    [Fact]
    public void Every_node_stores_in_the_mongo_replica_set()
    {
        var command = compose.Services[ComposeFile.Mongo].Sequence("command");
        var replicaSet = command[command.ToList().IndexOf("--replSet") + 1];

        Assert.All(compose.Nodes, node =>
        {
            var environment = Environment(node.Key);
            Assert.Equal("Mongo", environment.Setting("Storage__Provider"));
            var connection = new Uri(environment.Setting("Storage__ConnectionString"));
            Assert.Equal("mongodb", connection.Scheme);
            Assert.Equal(ComposeFile.Mongo, connection.Host);
            Assert.Contains($"replicaSet={replicaSet}", connection.Query, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Gateways_require_client_and_admin_keys_from_the_environment()
    {
        var gateways = compose.Nodes.Where(node => Environment(node.Key).Setting("Node__Role") != "Worker").ToList();

        Assert.Equal(["alpha", "beta"], gateways.Select(g => g.Key).Order(StringComparer.Ordinal));
        Assert.All(gateways, gateway =>
        {
            Assert.Equal("TASKSERVER_API_KEY", Environment(gateway.Key).RequiredVariable("Auth__ApiKeys__0"));
            Assert.Equal("TASKSERVER_ADMIN_KEY", Environment(gateway.Key).RequiredVariable("Auth__AdminKeys__0"));
        });
    }

    [Fact]
    public void Every_node_is_healthy_only_when_its_health_ready_answers()
    {
        Assert.All(compose.Nodes, node =>
        {
            var test = node.Value.Map("healthcheck").Sequence("test");
            Assert.Equal("CMD", test[0]);
            var probe = new Uri(Assert.Single(test, argument => argument.StartsWith("http://", StringComparison.Ordinal)));
            Assert.Equal("/health/ready", probe.AbsolutePath);
            Assert.Equal(new Uri(Environment(node.Key).Setting("Node__Url")).Port, probe.Port);
        });
    }

    [Fact]
    public void The_healthcheck_command_is_installed_in_the_image()
    {
        var installed = Dockerfile.Load().FinalStage
            .Where(i => i.Keyword == "RUN" && i.Arguments.Contains("apt-get install", StringComparison.Ordinal))
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.Ordinal);

        Assert.All(compose.Nodes, node => Assert.Contains(node.Value.Map("healthcheck").Sequence("test")[1], installed));
    }

    [Fact]
    public void Every_node_starts_once_mongo_is_healthy()
    {
        Assert.True(compose.Services[ComposeFile.Mongo].Has("healthcheck"), "mongo needs a healthcheck for service_healthy to mean anything.");
        Assert.All(compose.Nodes, node =>
            Assert.Equal("service_healthy", node.Value.Map("depends_on").Map(ComposeFile.Mongo).Scalar("condition")));
    }

    [Fact]
    public void The_mongo_healthcheck_initiates_the_replica_set_and_waits_for_a_primary()
    {
        var check = string.Join(' ', compose.Services[ComposeFile.Mongo].Map("healthcheck").Sequence("test"));

        Assert.Contains("rs.initiate", check, StringComparison.Ordinal);
        Assert.Contains("isWritablePrimary", check, StringComparison.Ordinal);
    }

    [Fact]
    public void The_gateways_publish_their_api_on_5080_and_5081()
    {
        Assert.Equal(["5080:8080"], compose.Services["alpha"].Sequence("ports"));
        Assert.Equal(["5081:8080"], compose.Services["beta"].Sequence("ports"));
    }

    private YamlMap Environment(string service) => compose.Services[service].Map("environment");
}
