using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using TaskServer.Host.ApiDescription;
using TaskServer.Host.Auth;
using TaskServer.LoadManager.Routing;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Host.Api;

public static class TaskEndpoints
{
    public const string IdempotencyKeyHeader = TaskRoutes.IdempotencyKeyHeader;

    /// <summary>What a worker whose intake is full asks to wait; the gateway sends the submission elsewhere meanwhile.</summary>
    private static readonly TimeSpan IntakeFullRetryAfter = TimeSpan.FromSeconds(1);
    public const string ReplayedHeader = TaskRoutes.ReplayedHeader;

    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    private static readonly string[] Includable = ["payload", "result"];

    /// <summary>The client API on gateways: reads and cancels go to the store; submissions are proxied to a worker (see LoadManager).</summary>
    public static IEndpointRouteBuilder MapTaskApi(this IEndpointRouteBuilder endpoints)
    {
        // Every call passes the backup gate and authentication first (NodeComposition), and any may find the database out of reach.
        var tasks = endpoints.MapGroup("/tasks")
            .RequireAuthorization(TaskRoutes.ClientPolicy)
            .WithTags(ApiDocument.TasksTag)
            .AcceptsCredentials(ApiDocument.BearerScheme)
            .ProducesProblems(
                ProblemType.MissingApiKey, ProblemType.InvalidApiKey, ProblemType.Forbidden, ProblemType.RateLimited,
                ProblemType.NotPrimary, ProblemType.StorageUnavailable, ProblemType.RequestTimeout);
        tasks.MapGet("/{id:guid}", GetAsync)
            .WithName("GetTask")
            .WithSummary("Read a task")
            .WithDescription("A client sees its own tasks only (404 for another client's); an admin key sees every task.")
            .Produces<TaskView>()
            .ProducesProblems(ProblemType.TaskNotFound);
        tasks.MapGet("/", ListAsync)
            .WithName("ListTasks")
            .WithSummary("List tasks, newest first")
            .WithDescription("Pages through the caller's tasks (an admin key: every client's) by id (ids sort by creation time); pass a page's `next` as `after` for the next page. "
                + "Items leave out `payload` and `result` unless `include` names them.")
            .Produces<TaskPage>()
            .ProducesProblems(ProblemType.InvalidRequest)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                // The handler parses the state itself (to answer invalid-request); the description lists what it accepts.
                if (operation.Parameters?.FirstOrDefault(p => p.Name == "status")?.Schema is OpenApiSchema schema)
                {
                    schema.Enum = [.. Enum.GetNames<TaskState>().Select(name => (JsonNode)name)];
                }

                return Task.CompletedTask;
            });
        tasks.MapDelete("/{id:guid}", CancelAsync)
            .WithName("CancelTask")
            .WithSummary("Cancel a task")
            .WithDescription("Cancels one of the caller's Queued or Running tasks (a running handler sees its cancellation token fire within about a second) and returns it as Cancelled.")
            .Produces<TaskView>()
            .ProducesProblems(ProblemType.TaskNotFound, ProblemType.TaskAlreadyFinal);
        return endpoints;
    }

    /// <summary>The worker's intake, reached only through a gateway (cluster secret).</summary>
    public static IEndpointRouteBuilder MapTaskIntake(this IEndpointRouteBuilder endpoints)
    {
        // Not for clients: only gateways can present the cluster secret, and clients submit through a gateway's POST /tasks.
        endpoints.MapPost("/internal/tasks", SubmitAsync).ExcludeFromDescription();
        return endpoints;
    }

    private static async Task<IResult> GetAsync(Guid id, ClaimsPrincipal user, ITaskStore store, CancellationToken cancellationToken)
    {
        var task = await store.GetAsync(id, cancellationToken);
        return task is null || !Sees(user, task) ? Problems.TaskNotFound(id) : Results.Ok(TaskView.From(task));
    }

    /// <summary>Another client's task is answered as no task at all, so that its existence does not leak.</summary>
    private static bool Sees(ClaimsPrincipal user, TaskRecord task) => Caller.IsAdmin(user) || task.Owner == Caller.ClientId(user);

    private static async Task<IResult> ListAsync(
        [Description("Only tasks in this state (any case).")] string? status,
        [Description("Only tasks of this type.")] string? type,
        [Description("Page size."), Range(1, MaxPageSize), DefaultValue(DefaultPageSize)] int? limit,
        [Description("The `next` of the previous page: tasks created before that one.")] string? after,
        [Description("What to add to each item, comma-separated: `payload`, `result`.")] string? include,
        ClaimsPrincipal user,
        ITaskStore store,
        CancellationToken cancellationToken)
    {
        if (type is not null && SubmitRequest.Unstorable(type) is { } typeError)
        {
            return Problems.InvalidRequest($"'type': {typeError}");
        }

        var included = (include ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (included.Except(Includable, StringComparer.OrdinalIgnoreCase).FirstOrDefault() is { } unknown)
        {
            return Problems.InvalidRequest($"'include' takes {string.Join(", ", Includable)}; not '{unknown}'.");
        }

        TaskState? state = null;
        if (status is not null)
        {
            if (!Enum.TryParse<TaskState>(status, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            {
                return Problems.InvalidRequest($"'status' must be one of {string.Join(", ", Enum.GetNames<TaskState>())}.");
            }

            state = parsed;
        }

        var pageSize = limit ?? DefaultPageSize;
        if (pageSize is < 1 or > MaxPageSize)
        {
            return Problems.InvalidRequest($"'limit' must be from 1 to {MaxPageSize}.");
        }

        Guid? afterId = null;
        if (after is not null)
        {
            if (!Guid.TryParse(after, out var parsedAfter))
            {
                return Problems.InvalidRequest("'after' must be a task id (the 'next' of the previous page).");
            }

            afterId = parsedAfter;
        }

        var owner = Caller.IsAdmin(user) ? null : Caller.ClientId(user);
        var page = await store.ListAsync(new TaskQuery { Status = state, Type = type, Limit = pageSize, After = afterId, Owner = owner }, cancellationToken);
        var payload = included.Contains("payload", StringComparer.OrdinalIgnoreCase);
        var result = included.Contains("result", StringComparer.OrdinalIgnoreCase);
        return Results.Ok(new TaskPage(page.Select(task => TaskView.From(task, payload, result)).ToList(), page.Count == pageSize ? page[^1].Id : null));
    }

    private static async Task<IResult> CancelAsync(Guid id, ClaimsPrincipal user, ITaskStore store, CancellationToken cancellationToken)
    {
        // The owner never changes, so checking it before the conditional write is as good as within it.
        if (await store.GetAsync(id, cancellationToken) is not { } task || !Sees(user, task))
        {
            return Problems.TaskNotFound(id);
        }

        // A running handler learns of it from its worker, which checks its running attempts every
        // Execution:CancellationCheckInterval, and sees its token cancelled.
        var result = await store.ApplyAsync(new CancelTask(id), cancellationToken);
        switch (result.Outcome)
        {
            case TransitionOutcome.NotFound:
                return Problems.TaskNotFound(id);
            case TransitionOutcome.Applied:
                return Results.Ok(TaskView.From(result.Task!));
            default:
                return Problems.TaskAlreadyFinal(id, result.Task!.Status.ToString());
        }
    }

    private static async Task<IResult> SubmitAsync(
        HttpRequest request,
        TaskIntake intake,
        TaskHandlers handlers,
        IOptions<ExecutionOptions> options,
        IOptions<Node.NodeOptions> node,
        CancellationToken cancellationToken)
    {
        if (!KeyRing.Contains([node.Value.ClusterSecret], request.Headers[TaskRoutes.ClusterSecretHeader].ToString()))
        {
            return Problems.InvalidClusterSecret();
        }

        var idempotencyKey = request.Headers[IdempotencyKeyHeader].FirstOrDefault();
        if (SubmitRequest.CheckIdempotencyKey(idempotencyKey) is { } keyError)
        {
            return Problems.InvalidRequest(keyError);
        }

        var (submission, problem) = await SubmitRequest.ReadAsync(request, handlers, options.Value, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        // Keys are scoped per client (the gateway names the client), so two clients never collide; the task is the client's.
        var client = request.Headers[TaskRoutes.ClientIdHeader].FirstOrDefault() ?? "";
        var scopedKey = idempotencyKey is null ? null : $"{client}:{idempotencyKey}";
        CreateResult accepted;
        try
        {
            accepted = await intake.AcceptAsync(submission!, scopedKey, owner: client.Length == 0 ? null : client, cancellationToken).WaitAsync(cancellationToken);
        }
        catch (GroupCommitFullException)
        {
            return Problems.IntakeFull(IntakeFullRetryAfter);
        }
        catch (TaskNotStorableException notStorable)
        {
            // What the database cannot hold (MongoDB: a payload over its share of a document, a number it would change)
            // is the submitter's error, as input the handler refuses is; nothing was written.
            return Problems.InvalidPayload(submission!.Type, notStorable.Message);
        }

        if (accepted.Outcome == CreateOutcome.IdempotencyConflict)
        {
            return Problems.IdempotencyConflict(accepted.Task.Id);
        }

        if (accepted.Outcome == CreateOutcome.Existing)
        {
            request.HttpContext.Response.Headers[ReplayedHeader] = "true";
        }

        return Results.Accepted($"/tasks/{accepted.Task.Id}", TaskView.From(accepted.Task));
    }
}
