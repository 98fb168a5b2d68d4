using Microsoft.Extensions.Logging;

namespace TaskServer.Failover.Tests.Fakes;

internal sealed class RecordingLogger<T> : ILogger<T>
{
    public List<EventId> Events { get; } = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Events.Add(eventId);
}
