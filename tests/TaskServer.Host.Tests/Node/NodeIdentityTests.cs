using Microsoft.Extensions.Options;
using TaskServer.Host.Node;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Tests.Node;

public sealed class NodeIdentityTests
{
    private readonly IOptions<NodeOptions> options = Options.Create(new NodeOptions
    {
        Role = NodeRole.Worker,
        Name = "worker-a",
        Url = "http://127.0.0.1:5090/",
        ClusterSecret = "sixteen-chars-xx",
    });

    [Fact]
    public void The_id_is_the_name_followed_by_a_dash_and_a_suffix()
    {
        var identity = new NodeIdentity(options);

        Assert.StartsWith("worker-a-", identity.Id, StringComparison.Ordinal);
        Assert.True(identity.Id.Length > "worker-a-".Length, $"no suffix in {identity.Id}");
    }

    [Fact]
    public void Each_process_start_is_a_new_node()
    {
        var first = new NodeIdentity(options);
        var second = new NodeIdentity(options);

        Assert.NotEqual(first.Id, second.Id);
    }

    [Fact]
    public void The_queue_is_the_id_with_underscores_for_dashes()
    {
        var identity = new NodeIdentity(options);

        Assert.Equal(identity.Id.Replace('-', '_'), identity.Queue);
        Assert.Matches("^[a-z0-9_]+$", identity.Queue);
    }

    [Fact]
    public void Role_and_url_come_from_the_options_without_a_trailing_slash()
    {
        var identity = new NodeIdentity(options);

        Assert.Equal(NodeRole.Worker, identity.Role);
        Assert.Equal("http://127.0.0.1:5090", identity.Url);
    }
}
