using System.Text.Json;
using System.Xml.Linq;

namespace TaskServer.Deployment.Tests;

/// <summary>The Dockerfile: an SDK build stage, an ASP.NET runtime stage that runs the host as a non-root user.</summary>
public sealed class DockerfileTests
{
    private static readonly string[] Root = ["root", "0"];

    private readonly Dockerfile dockerfile = Dockerfile.Load();

    [Fact]
    public void It_builds_on_the_SDK_image_and_runs_on_the_ASP_NET_image()
    {
        var from = dockerfile.Instructions.Where(i => i.Keyword == "FROM").Select(i => i.Arguments).ToList();

        Assert.Equal(2, from.Count);
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0 ", from[0], StringComparison.Ordinal);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", from[1]);
    }

    [Fact]
    public void The_image_runs_as_a_non_root_user()
    {
        var user = Assert.Single(dockerfile.FinalStage, i => i.Keyword == "USER").Arguments;

        Assert.DoesNotContain(user.Split(':')[0], Root);
    }

    [Fact]
    public void The_entrypoint_runs_the_host_with_dotnet()
    {
        var entrypoint = Assert.Single(dockerfile.FinalStage, i => i.Keyword == "ENTRYPOINT").Arguments;

        Assert.Equal(["dotnet", "TaskServer.Host.dll"], JsonSerializer.Deserialize<string[]>(entrypoint) ?? []);
    }

    [Fact]
    public void Every_project_the_host_builds_from_is_copied_before_the_restore()
    {
        var restore = dockerfile.Instructions.ToList().FindIndex(i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet restore", StringComparison.Ordinal));
        var copied = dockerfile.Instructions.Take(restore).Where(i => i.Keyword == "COPY").Select(i => i.Arguments.Split(' ')[0]).ToHashSet(StringComparer.Ordinal);

        Assert.True(restore > 0, "the Dockerfile should restore in a layer of its own.");
        Assert.All(ProjectsOf("src/Host/TaskServer.Host.csproj"), project => Assert.Contains(project, copied));
    }

    /// <summary>The project and everything it references, as paths from the repository root.</summary>
    private static HashSet<string> ProjectsOf(string project)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var next))
        {
            if (!found.Add(next))
            {
                continue;
            }

            var directory = Path.GetDirectoryName(Repository.PathOf(next))!;
            foreach (var reference in XDocument.Load(Repository.PathOf(next)).Descendants("ProjectReference"))
            {
                var path = Path.GetFullPath(Path.Combine(directory, (string)reference.Attribute("Include")!));
                pending.Push(Path.GetRelativePath(Repository.Root, path).Replace('\\', '/'));
            }
        }

        return found;
    }
}
