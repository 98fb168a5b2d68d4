using System.Net;
using Microsoft.OpenApi;

namespace TaskServer.EndToEnd.Tests;

/// <summary>
/// /openapi/v1.json as a real standalone node serves it: valid OpenAPI, every client endpoint with every
/// status the code answers (the table below), problem+json errors, Idempotency-Key and the security schemes.
/// </summary>
[Collection(StandaloneNodeGroup.Name)]
public sealed class OpenApiDocumentTests(StandaloneFixture cluster)
{
    private const string ProblemJson = "application/problem+json";

    /// <summary>
    /// What each endpoint answers, as the code does: the Bearer handler (401 missing or unknown key, 403 a
    /// viewer key), the backup gate (503 not-primary), the per-client rate limiter (429) and the request
    /// timeout (504) before every /tasks call; the gateway's size check and admission (413, 429, 503)
    /// and the worker's intake (400, 409, 413, 503) for POST /tasks, with YARP's 502/504 when the worker
    /// fails; the handlers' own 400/404/409; 503 storage-unavailable wherever the database is read;
    /// /cluster's 401 without an admin key and 403 with a key of another role.
    /// </summary>
    private static readonly Dictionary<(string Path, HttpMethod Method), int[]> Expected = new()
    {
        [("/tasks", HttpMethod.Post)] = [202, 400, 401, 403, 409, 413, 429, 502, 503, 504],
        [("/tasks", HttpMethod.Get)] = [200, 400, 401, 403, 429, 503, 504],
        [("/tasks/{id}", HttpMethod.Get)] = [200, 401, 403, 404, 429, 503, 504],
        [("/tasks/{id}", HttpMethod.Delete)] = [200, 401, 403, 404, 409, 429, 503, 504],
        [("/cluster", HttpMethod.Get)] = [200, 401, 403, 503],
        [("/health/live", HttpMethod.Get)] = [200],
        [("/health/ready", HttpMethod.Get)] = [200, 503],
        [("/health/worker", HttpMethod.Get)] = [200, 503],
        [("/health/primary", HttpMethod.Get)] = [200, 503],
    };

    [Fact]
    public async Task The_document_is_served_without_credentials_and_reads_without_errors()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri(cluster.Node.Url) };

        using var response = await anonymous.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var (document, diagnostic) = OpenApiDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), "json");
        Assert.NotNull(document);
        Assert.Empty(diagnostic?.Errors ?? []);
        Assert.Empty(document.Validate(ValidationRuleSet.GetDefaultRuleSet()) ?? []);
    }

    [Fact]
    public async Task Every_client_endpoint_is_described_with_every_status_it_answers()
    {
        var document = await LoadAsync();

        var described = Operations(document).ToDictionary(o => (o.Path, o.Method), o => o.Operation.Responses!.Keys.Select(int.Parse).Order().ToArray());

        Assert.Equal(Expected.Keys.Select(Name).Order(StringComparer.Ordinal), described.Keys.Select(Name).Order(StringComparer.Ordinal));
        foreach (var (operation, statuses) in Expected)
        {
            Assert.True(statuses.SequenceEqual(described[operation]), $"{Name(operation)}: expected {string.Join(",", statuses)}, described {string.Join(",", described[operation])}");
        }
    }

    [Fact]
    public async Task Every_error_is_problem_json_and_names_its_problem_types()
    {
        var document = await LoadAsync();

        foreach (var (path, method, operation) in Operations(document).Where(o => !o.Path.StartsWith("/health/", StringComparison.Ordinal)))
        {
            foreach (var (status, response) in operation.Responses!.Where(r => r.Key[0] is '4' or '5'))
            {
                var what = $"{method} {path} {status}";
                Assert.True(response.Content?.ContainsKey(ProblemJson) == true, $"{what} is not {ProblemJson}");
                Assert.Equal("ProblemDetails", (response.Content![ProblemJson].Schema as OpenApiSchemaReference)?.Reference.Id);
                Assert.Contains("urn:taskserver:problem:", response.Description, StringComparison.Ordinal);
                if (status is "429" or "503")
                {
                    Assert.True(response.Headers?.ContainsKey("Retry-After") == true, $"{what} has no Retry-After");
                }
            }
        }
    }

    [Fact]
    public async Task A_backups_503_names_the_primary_on_every_task_call()
    {
        var document = await LoadAsync();

        foreach (var (path, method, operation) in Operations(document).Where(o => o.Path.StartsWith("/tasks", StringComparison.Ordinal)))
        {
            var unavailable = operation.Responses!["503"];
            Assert.Contains("urn:taskserver:problem:not-primary", unavailable.Description, StringComparison.Ordinal);
            Assert.True(unavailable.Headers?.ContainsKey("X-TaskServer-Primary") == true, $"{method} {path} 503 has no X-TaskServer-Primary");
        }
    }

    [Fact]
    public async Task Submitting_is_described_with_its_body_idempotency_key_and_answer()
    {
        var document = await LoadAsync();

        var submit = document.Paths["/tasks"].Operations![HttpMethod.Post];

        var key = Assert.Single(submit.Parameters!, p => p.Name == "Idempotency-Key");
        Assert.Equal(ParameterLocation.Header, key.In);
        Assert.False(key.Required);
        Assert.Equal("SubmitTaskBody", (submit.RequestBody!.Content!["application/json"].Schema as OpenApiSchemaReference)?.Reference.Id);
        var body = document.Components!.Schemas!["SubmitTaskBody"];
        Assert.Equal(["maxAttempts", "payload", "timeout", "type"], body.Properties!.Keys.Order());
        Assert.Equal(["type"], body.Required!);
        var accepted = submit.Responses!["202"];
        Assert.Equal("TaskView", (accepted.Content!["application/json"].Schema as OpenApiSchemaReference)?.Reference.Id);
        Assert.True(accepted.Headers?.ContainsKey("Location") == true);
        Assert.Contains("urn:taskserver:problem:idempotency-key-reused", submit.Responses["409"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_task_api_asks_for_a_bearer_key_and_cluster_for_an_admin_key()
    {
        var document = await LoadAsync();

        var schemes = document.Components!.SecuritySchemes!;
        Assert.Equal(SecuritySchemeType.Http, schemes["bearer"].Type);
        Assert.Equal("bearer", schemes["bearer"].Scheme);
        Assert.Equal(SecuritySchemeType.Http, schemes["basic"].Type);
        Assert.Equal("basic", schemes["basic"].Scheme);
        foreach (var (path, method, operation) in Operations(document))
        {
            string[] expected = path.StartsWith("/tasks", StringComparison.Ordinal) ? ["bearer"]
                : path == "/cluster" ? ["basic", "bearer"]
                : [];
            var required = (operation.Security ?? []).SelectMany(requirement => requirement.Keys.Select(scheme => scheme.Reference.Id!)).Order();
            Assert.True(expected.SequenceEqual(required), $"{method} {path}: expected [{string.Join(",", expected)}], got [{string.Join(",", required)}]");
        }
    }

    [Fact]
    public async Task Task_views_use_the_camel_case_names_the_api_writes()
    {
        var document = await LoadAsync();
        var id = await cluster.Api.SubmitAcceptedAsync("""{"type":"echo","payload":"names"}""");
        var task = await cluster.Api.GetAsync(id);

        var described = document.Components!.Schemas!["TaskView"].Properties!.Keys.Order();

        Assert.Equal(task.EnumerateObject().Select(p => p.Name).Order(), described);
    }

    private static string Name((string Path, HttpMethod Method) operation) => $"{operation.Method} {operation.Path}";

    private static IEnumerable<(string Path, HttpMethod Method, OpenApiOperation Operation)> Operations(OpenApiDocument document) =>
        document.Paths.SelectMany(path => (path.Value.Operations ?? []).Select(operation => (path.Key, operation.Key, operation.Value)));

    private async Task<OpenApiDocument> LoadAsync()
    {
        var json = await cluster.Api.Http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative), TestContext.Current.CancellationToken);
        var (document, diagnostic) = OpenApiDocument.Parse(json, "json");
        Assert.Empty(diagnostic?.Errors ?? []);
        return document!;
    }
}
