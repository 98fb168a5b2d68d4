using Microsoft.Extensions.DependencyInjection;


namespace TaskServer.Execution;

/// <summary>The registered handlers by task type.</summary>
public sealed class TaskHandlers(IEnumerable<ITaskHandler> handlers)
{
    private readonly Dictionary<string, ITaskHandler> byType = handlers.ToDictionary(h => h.Type, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Types => byType.Keys;

    public ITaskHandler? Find(string type) => byType.GetValueOrDefault(type);
}

public static class TaskHandlerServiceCollectionExtensions
{
    public static IServiceCollection AddTaskHandler<THandler>(this IServiceCollection services)
        where THandler : class, ITaskHandler =>
        services.AddSingleton<ITaskHandler, THandler>();
}
