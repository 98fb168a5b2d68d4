using System.Reflection;

namespace TaskServer.Drill.Tests;

/// <summary>The checkout these tests run from: its scripts, its builds, and artifacts/drill (git-ignored) for what a person looks at afterwards.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration the tests were built in: the host next to them was built in it too.</summary>
    public static string Configuration { get; } = typeof(Repository).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>artifacts/drill, or a folder under it, made if missing.</summary>
    public static string Artifacts(params string[] folders) => Directory.CreateDirectory(Path.Combine([Root, "artifacts", "drill", .. folders])).FullName;

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "TaskServer.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("TaskServer.sln not found above " + AppContext.BaseDirectory);
    }
}
