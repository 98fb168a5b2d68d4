namespace TaskServer.Deployment.Tests;

/// <summary>The Dockerfile's instructions, continuation lines joined and comments dropped, with the stage each belongs to.</summary>
internal sealed class Dockerfile
{
    private Dockerfile(IReadOnlyList<Instruction> instructions) => Instructions = instructions;

    public IReadOnlyList<Instruction> Instructions { get; }

    public int Stages => Instructions.Count(i => i.Keyword == "FROM");

    /// <summary>The stage the image is made of: the last one.</summary>
    public IEnumerable<Instruction> FinalStage => Instructions.Where(i => i.Stage == Stages - 1);

    public static Dockerfile Load()
    {
        var instructions = new List<Instruction>();
        var stage = -1;
        var pending = "";
        foreach (var raw in Repository.Read("Dockerfile").Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && pending.Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var text = pending + line;
            pending = "";
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? text : text[..space]).ToUpperInvariant();
            stage += keyword == "FROM" ? 1 : 0;
            instructions.Add(new Instruction(keyword, space < 0 ? "" : text[(space + 1)..].Trim(), stage));
        }

        return new Dockerfile(instructions);
    }

    public sealed record Instruction(string Keyword, string Arguments, int Stage);
}
