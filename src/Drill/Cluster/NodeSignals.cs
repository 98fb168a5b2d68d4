using System.Globalization;
using System.Runtime.InteropServices;

namespace TaskServer.Drill.Cluster;

/// <summary>The signals a drill sends (Linux numbers).</summary>
internal enum Signal
{
    /// <summary>As when a machine dies: no chance to clean up.</summary>
    Kill = 9,

    /// <summary>A graceful stop.</summary>
    Terminate = 15,

    /// <summary>Resumes a stopped process.</summary>
    Continue = 18,

    /// <summary>A process frozen past its lease (a long GC pause, a VM migration): its sockets stay open.</summary>
    Stop = 19,
}

/// <summary>
/// Real signals to a node's process, found through its PID file. The process tree is read first and the
/// signals then go out as one kill(2) each, so the time a drill takes right before sending is the time
/// the node was struck, even on a loaded machine.
/// </summary>
internal sealed partial class NodeSignals(ClusterEnv env)
{
    /// <summary>
    /// The node's name from its registry id: every process start is a new identity, the name plus a
    /// random suffix ("alpha-3fa2c1" -> "alpha"), and the PID files are named after the name.
    /// </summary>
    public static string NameOf(string nodeId)
    {
        var dash = nodeId.LastIndexOf('-');
        return dash > 0 ? nodeId[..dash] : nodeId;
    }

    public async Task<int> PidAsync(string nodeName, CancellationToken cancellationToken)
    {
        var file = env.PidFile(nodeName);
        if (!File.Exists(file))
        {
            throw new DrillException($"No PID file for node '{nodeName}' at {file} (PIDS_DIR in {env.Source}).");
        }

        return await FindPidAsync(nodeName, cancellationToken)
            ?? throw new DrillException($"{file} holds '{(await File.ReadAllTextAsync(file, cancellationToken)).Trim()}', which is not a running process.");
    }

    /// <summary>The running process of a node by its PID file, or null when there is no file or no such process.</summary>
    public async Task<int?> FindPidAsync(string nodeName, CancellationToken cancellationToken)
    {
        try
        {
            var text = await File.ReadAllTextAsync(env.PidFile(nodeName), cancellationToken);
            return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Directory.Exists($"/proc/{pid}") ? pid : null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>True only for a TaskServer node: a PID file may outlive its process, and the PID may be reused.</summary>
    public static async Task<bool> IsNodeProcessAsync(int pid, CancellationToken cancellationToken)
    {
        try
        {
            var commandLine = await File.ReadAllTextAsync($"/proc/{pid}/cmdline", cancellationToken);
            return commandLine.Contains("TaskServer.Host.dll", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// A graceful stop: SIGTERM to the node's tree, then SIGKILL if the node is still there after <paramref name="grace"/>.
    /// Returns whether it exited by itself; a node that is not running is left alone (true).
    /// </summary>
    public async Task<bool> StopAsync(string nodeName, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (await FindPidAsync(nodeName, cancellationToken) is not { } pid || !await IsNodeProcessAsync(pid, cancellationToken))
        {
            return true;
        }

        var tree = await TreeAsync(pid, cancellationToken);
        Send(tree, Signal.Terminate);
        var poll = TimeSpan.FromMilliseconds(100);
        for (var waited = TimeSpan.Zero; waited < grace && await IsNodeProcessAsync(pid, cancellationToken); waited += poll)
        {
            await Task.Delay(poll, cancellationToken);
        }

        if (!await IsNodeProcessAsync(pid, cancellationToken))
        {
            return true;
        }

        Send(tree, Signal.Kill);
        return false;
    }

    /// <summary>Sends the signal to every process of the tree, the node (its root) first.</summary>
    public static void Send(IReadOnlyList<int> tree, Signal signal)
    {
        foreach (var pid in tree)
        {
            if (Native.Kill(pid, (int)signal) != 0 && pid == tree[0])
            {
                throw new DrillException($"kill({pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
            }
        }
    }

    /// <summary>The process and its descendants (the PID file may name a wrapper), from the parent ids in /proc.</summary>
    public static async Task<IReadOnlyList<int>> TreeAsync(int root, CancellationToken cancellationToken)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
                var stat = await File.ReadAllTextAsync(Path.Combine(directory, "stat"), cancellationToken);
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }

        var tree = new List<int> { root };
        for (var i = 0; i < tree.Count; i++)
        {
            tree.AddRange(parents.Where(p => p.Value == tree[i]).Select(p => p.Key));
        }

        return tree;
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static partial int Kill(int pid, int signal);
    }
}
