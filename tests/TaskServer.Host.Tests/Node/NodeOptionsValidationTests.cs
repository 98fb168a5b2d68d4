using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using TaskServer.Host.Node;
using TaskServer.StorageManager.Nodes;

namespace TaskServer.Host.Tests.Node;

/// <summary>The data annotations the node validates its <c>Node</c> section with at start-up.</summary>
public sealed class NodeOptionsValidationTests
{
    [Fact]
    public void A_complete_configuration_is_valid() =>
        Assert.Empty(Validate(Valid()));

    [Theory]
    [InlineData("worker-1")]
    [InlineData("a")]
    [InlineData("0")]
    public void A_lower_case_name_is_valid(string name)
    {
        var options = Valid();
        options.Name = name;

        Assert.Empty(Validate(options));
    }

    [Fact]
    public void A_name_of_41_characters_is_valid()
    {
        var options = Valid();
        options.Name = new string('n', 41);

        Assert.Empty(Validate(options));
    }

    [Theory]
    [InlineData("Worker")]
    [InlineData("-worker")]
    [InlineData("worker_1")]
    [InlineData("worker 1")]
    [InlineData("")]
    [InlineData("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn")]
    public void A_name_that_would_not_make_a_queue_name_is_refused(string name)
    {
        var options = Valid();
        options.Name = name;

        AssertRefused(options, nameof(NodeOptions.Name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("127.0.0.1:5090")]
    public void A_missing_or_relative_url_is_refused(string url)
    {
        var options = Valid();
        options.Url = url;

        AssertRefused(options, nameof(NodeOptions.Url), "Node:Url");
    }

    [Theory]
    [InlineData("")]
    [InlineData("fifteen-chars-x")]
    public void A_cluster_secret_under_16_characters_is_refused(string secret)
    {
        var options = Valid();
        options.ClusterSecret = secret;

        AssertRefused(options, nameof(NodeOptions.ClusterSecret), "Node:ClusterSecret");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1001)]
    public void A_capacity_outside_1_to_1000_is_refused(int capacity)
    {
        var options = Valid();
        options.Capacity = capacity;

        AssertRefused(options, nameof(NodeOptions.Capacity), "Node:Capacity must be between 1 and 1000.");
    }

    [Fact]
    public void A_heartbeat_interval_under_100_ms_is_refused()
    {
        var options = Valid();
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(99);

        AssertRefused(options, nameof(NodeOptions.HeartbeatInterval), "Node:HeartbeatInterval");
    }

    [Fact]
    public void A_worker_without_an_internal_url_is_refused()
    {
        var options = Valid();
        options.Role = NodeRole.Worker;
        options.InternalUrl = null;

        Assert.Contains("Node:InternalUrl is required", Production.Validate(null, options).FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gateway_needs_no_internal_url() =>
        Assert.True(Production.Validate(null, new NodeOptions { Role = NodeRole.Gateway, Url = "http://127.0.0.1:5080", ClusterSecret = "sixteen-chars-xx" }).Succeeded);

    [Fact]
    public void An_internal_url_on_the_client_port_is_refused()
    {
        var options = Valid();
        options.InternalUrl = "http://10.0.0.1:5090";

        Assert.Contains("another port", Production.Validate(null, options).FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_demo_cluster_secret_is_refused_outside_development_only()
    {
        var options = Valid();
        options.ClusterSecret = "demo-cluster-secret-change-me";
        var development = new NodeOptionsValidator(new HostingEnvironment { EnvironmentName = Environments.Development });

        Assert.Contains("demo values are refused", Production.Validate(null, options).FailureMessage, StringComparison.Ordinal);
        Assert.True(development.Validate(null, options).Succeeded);
    }

    [Fact]
    public void A_complete_worker_configuration_passes_the_start_up_rules() =>
        Assert.True(Production.Validate(null, Valid()).Succeeded);

    private static NodeOptionsValidator Production => new(new HostingEnvironment { EnvironmentName = Environments.Production });

    private static NodeOptions Valid() => new()
    {
        Name = "worker-1",
        Url = "http://127.0.0.1:5090",
        InternalUrl = "http://127.0.0.1:6090",
        ClusterSecret = "sixteen-chars-xx",
        Capacity = 1,
    };

    private static List<ValidationResult> Validate(NodeOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }

    private static void AssertRefused(NodeOptions options, string member, string? message = null)
    {
        var failure = Assert.Single(Validate(options));
        Assert.Equal([member], failure.MemberNames);
        if (message is not null)
        {
            Assert.Contains(message, failure.ErrorMessage, StringComparison.Ordinal);
        }
    }
}
