using System.Security.Cryptography.X509Certificates;
using Spectre.Console;
using TaskServer.Client;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Cli;

/// <summary>What every command shares: the cluster file, the report directory, the console, one HTTP client for operator calls.</summary>
internal sealed class DrillContext : IDisposable
{
    private DrillContext(ClusterEnv env, string reportDirectory, string command, IAnsiConsole console, MachineInfo machine)
    {
        Env = env;
        ReportDirectory = reportDirectory;
        Command = command;
        Console = console;
        Machine = machine;
        CaCertificate = env.LoadCaCertificate();
        Http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1) }.Trusting(CaCertificate)) { Timeout = Timeout.InfiniteTimeSpan };
        Api = new ClusterApi(Http, env);
        Signals = new NodeSignals(env);
    }

    public ClusterEnv Env { get; }

    /// <summary>The cluster's CA when it runs on TLS: every client the drill opens trusts it.</summary>
    public X509Certificate2? CaCertificate { get; }

    public string ReportDirectory { get; }

    /// <summary>The command line that produced the report, for the report.</summary>
    public string Command { get; }

    public IAnsiConsole Console { get; }

    public MachineInfo Machine { get; }

    public HttpClient Http { get; }

    public ClusterApi Api { get; }

    public NodeSignals Signals { get; }

    public TimeProvider Time { get; } = TimeProvider.System;

    public static async Task<DrillContext> CreateAsync(string clusterFile, string reportDirectory, string command, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var env = await ClusterEnv.LoadAsync(clusterFile, cancellationToken);
        return new DrillContext(env, Path.GetFullPath(reportDirectory), command, console, await MachineInfo.CurrentAsync(cancellationToken));
    }

    /// <summary>
    /// A failover-aware client over every gateway, retrying briefly and often: a drill wants to see the
    /// takeover as soon as it happens, and a submission given up on would be an error, not a measurement.
    /// </summary>
    /// <param name="handler">What the client sends through (an <see cref="AckRecorder"/>, or a handler over one); the caller disposes it.</param>
    public TaskServerClient NewClient(HttpMessageHandler handler)
    {
        var options = new TaskServerClientOptions
        {
            ApiKey = Env.ApiKey,
            CaCertificate = CaCertificate,
            MaxAttempts = 120,
            BaseDelay = TimeSpan.FromMilliseconds(50),
            MaxDelay = TimeSpan.FromMilliseconds(500),
            AttemptTimeout = TimeSpan.FromSeconds(3),
        };
        foreach (var gateway in Env.Gateways)
        {
            options.Gateways.Add(gateway);
        }

        return new TaskServerClient(options, handler);
    }

    public void Log(string markup) =>
        Console.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss.fff}[/] {markup}");

    public void Dispose()
    {
        Http.Dispose();
        CaCertificate?.Dispose();
    }
}
