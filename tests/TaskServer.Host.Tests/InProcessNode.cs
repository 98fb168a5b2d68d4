using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TaskServer.Testing;

namespace TaskServer.Host.Tests;

/// <summary>
/// A node composed in the test's process, as Program composes it, serving real HTTP on a free loopback port: for
/// tests that need to look inside (the endpoint table, every span) rather than at a separate process.
/// </summary>
internal static class InProcessNode
{
    public const string ApiKey = "client-key-for-tests-0001";

    private const string ClusterSecret = "cluster-secret-for-tests-01";

    public static WebApplication Build(PostgresDatabase database, string role, string name, Action<IServiceCollection>? services = null, params (string Key, string Value)[] settings)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var internalUrl = $"http://127.0.0.1:{FreePort.Next()}";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseUrls(url, internalUrl);
        var configuration = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = database.ConnectionString,
            ["Node:Role"] = role,
            ["Node:Name"] = name,
            ["Node:Url"] = url,
            ["Node:InternalUrl"] = internalUrl,
            ["Node:ClusterSecret"] = ClusterSecret,
            ["Node:Capacity"] = "2",
            ["Auth:ApiKeys:0"] = ApiKey,
            ["Auth:AdminKeys:0"] = "admin-key-for-tests-00001",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddTaskServerNode(builder.Configuration);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapTaskServerNode();
        return app;
    }

    /// <summary>An echo task posted to a started worker's intake, as a gateway posts it; its id.</summary>
    public static async Task<Guid> SubmitToIntakeAsync(WebApplication worker, CancellationToken cancellationToken)
    {
        using var response = await PostToIntakeAsync(worker, """{"type":"echo","payload":{"n":1}}""", cancellationToken);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return body.RootElement.GetProperty("id").GetGuid();
    }

    /// <summary>A submission posted to a started worker's intake with the cluster secret, as a gateway posts it.</summary>
    public static async Task<HttpResponseMessage> PostToIntakeAsync(WebApplication worker, string json, CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(worker.Configuration["Node:InternalUrl"]!), "/internal/tasks"))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Cluster-Secret", ClusterSecret);
        return await http.SendAsync(request, cancellationToken);
    }
}
