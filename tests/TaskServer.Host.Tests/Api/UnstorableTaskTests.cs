using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TaskServer.StorageManager.Tasks;
using TaskServer.Testing;

namespace TaskServer.Host.Tests.Api;

/// <summary>A task the store cannot hold (<see cref="TaskNotStorableException"/>) is the submitter's 400 invalid-payload; any other error stays a 500.</summary>
public sealed class UnstorableTaskTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_unstorable_task_is_400_invalid_payload_and_an_unrelated_argument_exception_is_500()
    {
        await using var database = await PostgresDatabase.CreateAsync();
        await using var app = InProcessNode.Build(database, "Worker", "unstorable", services =>
        {
            var real = services.Last(d => d.ServiceType == typeof(ITaskStore));
            services.Remove(real);
            services.AddSingleton(provider => RefusingStore.Wrap((ITaskStore)(real.ImplementationFactory?.Invoke(provider)
                ?? real.ImplementationInstance
                ?? ActivatorUtilities.CreateInstance(provider, real.ImplementationType!))));
        });
        await app.StartAsync(Ct);

        using var refused = await InProcessNode.PostToIntakeAsync(app, """{"type":"echo","payload":"unstorable"}""", Ct);
        using var broken = await InProcessNode.PostToIntakeAsync(app, """{"type":"echo","payload":"argument"}""", Ct);
        using var stored = await InProcessNode.PostToIntakeAsync(app, """{"type":"echo","payload":"fine"}""", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(Ct));
        Assert.Equal("urn:taskserver:problem:invalid-payload", problem.RootElement.GetProperty("type").GetString());
        Assert.Contains("larger than this store can hold", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, broken.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, stored.StatusCode);
        await app.StopAsync(Ct);
    }

    /// <summary>The real store, but creating a task whose payload says "unstorable" or "argument" throws as a provider would.</summary>
    public class RefusingStore : DispatchProxy
    {
        private ITaskStore inner = null!;

        public static ITaskStore Wrap(ITaskStore inner)
        {
            var proxy = Create<ITaskStore, RefusingStore>();
            ((RefusingStore)(object)proxy).inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name == nameof(ITaskStore.CreateManyAsync) && args?[0] is IReadOnlyList<NewTask> tasks)
            {
                if (tasks.Any(t => t.Payload.Contains("unstorable", StringComparison.Ordinal)))
                {
                    throw new TaskNotStorableException("The payload is larger than this store can hold.");
                }

                if (tasks.Any(t => t.Payload.Contains("argument", StringComparison.Ordinal)))
                {
                    throw new ArgumentException("A bug, not the submitter's error.");
                }
            }

            try
            {
                return targetMethod!.Invoke(inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }
}
