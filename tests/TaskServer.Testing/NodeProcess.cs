using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace TaskServer.Testing;

/// <summary>
/// A real TaskServer.Host process on a free loopback port, configured through environment variables
/// exactly as an operator would. Killed for real (SIGKILL, SIGSTOP/SIGCONT) by the tests that need it.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();

    private NodeProcess(Process process, string url, string internalUrl)
    {
        this.process = process;
        Url = url;
        InternalUrl = internalUrl;
    }

    /// <summary>The client port: the task API, the dashboard, health.</summary>
    public string Url { get; }

    /// <summary>The internal listener (<c>Node:InternalUrl</c>): the worker intake, health for gateways' probes.</summary>
    public string InternalUrl { get; }

    public int Pid => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>Everything the node printed, for assertions on its log and for diagnosing a failure.</summary>
    public string Output => string.Join('\n', output);

    /// <summary>Starts a node on <paramref name="port"/> (or a free one) plus a free internal port, both <paramref name="scheme"/>.</summary>
    public static NodeProcess Start(IReadOnlyDictionary<string, string> settings, int? port = null, string scheme = "http")
    {
        var chosenPort = port ?? FreePort.Next();
        var url = $"{scheme}://127.0.0.1:{chosenPort}";
        var internalUrl = $"{scheme}://127.0.0.1:{FreePort.Next()}";
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HostAssemblyPath());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"{url};{internalUrl}");
        start.Environment["Node__Url"] = url;
        start.Environment["Node__InternalUrl"] = internalUrl;
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var node = new NodeProcess(process, url, internalUrl);
        process.OutputDataReceived += (_, e) => node.Record(e.Data);
        process.ErrorDataReceived += (_, e) => node.Record(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>Waits for /health/live; <paramref name="handler"/> (kept by the caller) for a node on https with a private CA.</summary>
    public async Task WaitUntilLiveAsync(TimeSpan? timeout = null, HttpMessageHandler? handler = null)
    {
        using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.Timeout = TimeSpan.FromSeconds(2);
        await Eventually.HoldsAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"Node {Url} exited with {process.ExitCode}:\n{Output}");
                }

                try
                {
                    return (await http.GetAsync(new Uri($"{Url}/health/live"))).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
                catch (TaskCanceledException)
                {
                    return false;
                }
            },
            timeout ?? TimeSpan.FromSeconds(60),
            $"node {Url} to answer /health/live");
    }

    /// <summary>SIGKILL: the process gets no chance to clean up, as when a machine dies.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, then waits for the process to exit on its own: a graceful shutdown, as a deploy stops a node.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        await SignalAsync("TERM");
        await process.WaitForExitAsync().WaitAsync(timeout);
        return process.ExitCode;
    }

    public Task PauseAsync() => SignalAsync("STOP");

    public Task ResumeAsync() => SignalAsync("CONT");

    /// <summary>Kills the node; with <c>TASKSERVER_TEST_LOGS</c> set, keeps what it printed in that directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
        if (Environment.GetEnvironmentVariable("TASKSERVER_TEST_LOGS") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            await File.WriteAllTextAsync(Path.Combine(directory, $"node-{new Uri(Url).Port}-{DateTime.UtcNow:HHmmss}.log"), Output);
        }
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {process.Id}");
        await kill.WaitForExitAsync();
    }

    private void Record(string? line)
    {
        if (line is not null)
        {
            output.Enqueue(line);
        }
    }

    /// <summary>The host built by the same configuration as the tests (the test projects reference it for build order).</summary>
    private static string HostAssemblyPath()
    {
        var configuration = typeof(NodeProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "TaskServer.sln")))
        {
            directory = directory.Parent;
        }

        if (directory is null)
        {
            throw new InvalidOperationException("TaskServer.sln not found above " + AppContext.BaseDirectory);
        }

        var path = Path.Combine(directory.FullName, "src", "Host", "bin", configuration, "net10.0", "TaskServer.Host.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build the host first (dotnet build TaskServer.sln).", path);
    }
}
