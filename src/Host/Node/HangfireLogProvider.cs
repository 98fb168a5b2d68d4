using Hangfire.AspNetCore;
using Hangfire.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TaskServer.Host.Node;

/// <summary>
/// Hangfire's log provider, which is process-wide: the last host to configure Hangfire sets it, and every host in the
/// process creates its Hangfire loggers through it. A host's logger factory is disposed with the host, and Hangfire's
/// own provider then throws from every logger created afterwards, the constructor of a worker's Hangfire server among
/// them: that server is built when its host has started, where the exception is only logged, so the worker reports
/// ready and its jobs are never fetched. Once the factory is gone, loggers are silent instead.
/// </summary>
internal sealed class HangfireLogProvider(ILoggerFactory loggerFactory) : ILogProvider
{
    private readonly AspNetCoreLogProvider host = new(loggerFactory);
    private readonly AspNetCoreLogProvider silent = new(NullLoggerFactory.Instance);

    public ILog GetLogger(string name)
    {
        try
        {
            return host.GetLogger(name);
        }
        catch (ObjectDisposedException)
        {
            return silent.GetLogger(name);
        }
    }
}
