namespace TaskServer.Deployment.Tests;

/// <summary>Files of the repository these tests run from: the deployment files are read where they are, not copied.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));

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
