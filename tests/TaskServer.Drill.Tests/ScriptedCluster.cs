using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TaskServer.Drill.Tests;

/// <summary>
/// A cluster started by <c>scripts/cluster.sh up --faults</c> itself (its own PostgreSQL, two standalone nodes, two
/// workers, every one a real process), on free ports, in a throwaway root: the script keeps all it makes under its
/// own directory's parent (.cluster: the database, PID files, logs, the nodes' copy of the build), so the scripts
/// copied beside a copy of the host's build make a cluster that touches nothing of the checkout's own.
/// </summary>
internal sealed class ScriptedCluster : IAsyncDisposable
{
    // Every directory cluster.sh looks into for sources newer than its builds; empty here, so it builds nothing.
    private static readonly string[] SourceFolders = ["src/StorageManager", "src/StorageManager.PostgreSql", "src/StorageManager.Mongo", "src/LoadManager", "src/Health", "src/Failover", "src/Client"];

    // Older than any build: cluster.sh rebuilds when one of these is newer than its assemblies.
    private static readonly DateTime LongAgo = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly string root;
    private readonly string drillBuild;

    private ScriptedCluster(string root)
    {
        this.root = root;
        drillBuild = Path.Combine(root, "src", "Drill", "bin", "Release", "net10.0");
    }

    /// <summary>The cluster's env file, as the drill CLI reads it.</summary>
    public string EnvFile => Path.Combine(root, ".cluster", "env");

    public string Logs => Path.Combine(root, ".cluster", "logs");

    public static async Task<ScriptedCluster> UpAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("taskserver-chaos-");

        // As root, PostgreSQL runs as the postgres user, which must reach .cluster/pg inside (bash and the scripts are Unix's anyway).
        if (!OperatingSystem.IsWindows())
        {
            directory.UnixFileMode |= UnixFileMode.GroupExecute | UnixFileMode.OtherExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }
        var cluster = new ScriptedCluster(directory.FullName);
        try
        {
            cluster.Lay();
            var (portBase, databasePort) = FreePorts();
            var (exit, output) = await cluster.ScriptAsync(
                ["up", "--faults", "--port-base", portBase.ToString(System.Globalization.CultureInfo.InvariantCulture), "--db-port", databasePort.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                timeout,
                cancellationToken);
            return exit == 0 ? cluster : throw new InvalidOperationException($"scripts/cluster.sh up exited with {exit}:\n{output}");
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(EnvFile))
        {
            await ScriptAsync(["down"], TimeSpan.FromMinutes(1), CancellationToken.None);
        }

        if (Directory.Exists(Logs))
        {
            var kept = Repository.Artifacts("chaos-e2e", "logs");
            foreach (var log in Directory.EnumerateFiles(Logs))
            {
                File.Copy(log, Path.Combine(kept, Path.GetFileName(log)), overwrite: true);
            }
        }

        // The link first, alone: a recursive delete must not reach the test's own output through it.
        if (Directory.Exists(drillBuild))
        {
            Directory.Delete(drillBuild);
        }

        Directory.Delete(root, recursive: true);
    }

    /// <summary>The scripts, the host's build where cluster.sh looks for it, the drill (this test's own output) for its cluster commands.</summary>
    private void Lay()
    {
        var scripts = Directory.CreateDirectory(Path.Combine(root, "scripts")).FullName;
        foreach (var script in new[] { "cluster.sh", "postgres.sh" })
        {
            // A copy keeps the file's mode: cluster.sh runs postgres.sh as a program.
            File.Copy(Repository.PathOf(Path.Combine("scripts", script)), Path.Combine(scripts, script));
        }

        var host = Repository.PathOf(Path.Combine("src", "Host", "bin", Repository.Configuration, "net10.0"));
        if (!File.Exists(Path.Combine(host, "TaskServer.Host.dll")))
        {
            throw new FileNotFoundException("Build the host first (the test project references it for build order).", host);
        }

        Copy(host, Path.Combine(root, "src", "Host", "bin", "Release", "net10.0"));
        Directory.CreateDirectory(Path.GetDirectoryName(drillBuild)!);
        Directory.CreateSymbolicLink(drillBuild, AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        foreach (var folder in SourceFolders)
        {
            Directory.CreateDirectory(Path.Combine(root, folder));
        }

        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" })
        {
            var path = Path.Combine(root, file);
            File.WriteAllText(path, "");
            File.SetLastWriteTimeUtc(path, LongAgo);
        }
    }

    private async Task<(int Exit, string Output)> ScriptAsync(IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root };
        start.ArgumentList.Add(Path.Combine(root, "scripts", "cluster.sh"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var errors = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await output + await errors);
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>
    /// A port base whose cluster ports are all free (the gateways at +0 and +1, the workers at +10 and +11, each with its
    /// internal listener 1000 above) and a free database port; below the ephemeral range, as the other tests' ports.
    /// </summary>
    private static (int PortBase, int DatabasePort) FreePorts()
    {
        int[] offsets = [0, 1, 10, 11, 1000, 1001, 1010, 1011];
        while (true)
        {
            var portBase = Random.Shared.Next(11_000, 23_000);
            var database = Random.Shared.Next(10_000, 11_000);
            if (offsets.Select(o => portBase + o).Append(database).All(Free))
            {
                return (portBase, database);
            }
        }
    }

    private static bool Free(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
