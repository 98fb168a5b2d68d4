using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace TaskServer.Deployment.Tests;

/// <summary>docker-compose.yml as Compose reads it: merge keys (<c>&lt;&lt;: *anchor</c>) resolved, explicit keys winning.</summary>
internal sealed class ComposeFile
{
    /// <summary>The one service that is not a TaskServer node.</summary>
    public const string Mongo = "mongo";

    private ComposeFile(IReadOnlyDictionary<string, YamlMap> services) => Services = services;

    public IReadOnlyDictionary<string, YamlMap> Services { get; }

    /// <summary>Every service but MongoDB: each is held to the rules for nodes, so a new one cannot slip past them.</summary>
    public IEnumerable<KeyValuePair<string, YamlMap>> Nodes => Services.Where(s => s.Key != Mongo);

    public static ComposeFile Load()
    {
        using var reader = new StringReader(Repository.Read("docker-compose.yml"));
        var root = new YamlMap("docker-compose.yml", new DeserializerBuilder().Build().Deserialize<Dictionary<object, object?>>(new MergingParser(new Parser(reader))));
        var services = root.Map("services");
        return new ComposeFile(services.Keys.ToDictionary(name => name, services.Map, StringComparer.Ordinal));
    }
}

/// <summary>A YAML mapping, with lookups that fail the test with the path of what is missing.</summary>
internal sealed partial class YamlMap(string path, IDictionary<object, object?> entries)
{
    public IEnumerable<string> Keys => entries.Keys.Select(k => (string)k);

    public bool Has(string key) => entries.ContainsKey(key);

    public YamlMap Map(string key) =>
        Get(key) is IDictionary<object, object?> map ? new YamlMap($"{path}.{key}", map) : throw Missing(key, "a mapping");

    public string Scalar(string key) => Get(key) as string ?? throw Missing(key, "a scalar");

    public IReadOnlyList<string> Sequence(string key) =>
        Get(key) is IList<object?> items ? items.Select(i => i as string ?? throw Missing(key, "a sequence of scalars")).ToList() : throw Missing(key, "a sequence");

    /// <summary>
    /// A scalar with <c>${NAME:-default}</c> replaced by its default (the value a plain <c>docker compose up</c> gets) and a
    /// required <c>${NAME:?message}</c> by the variable's name (compose refuses to start without it).
    /// </summary>
    public string Setting(string key) => Variable().Replace(Scalar(key), match =>
        match.Groups["default"].Success ? match.Groups["default"].Value
        : match.Groups["required"].Success ? match.Groups["name"].Value
        : throw new InvalidOperationException($"{path}.{key} has no default for {match.Value}."));

    /// <summary>The variable <paramref name="key"/> requires (<c>${NAME:?message}</c> and nothing else), or null.</summary>
    public string? RequiredVariable(string key) => Variable().Match(Scalar(key)) is { Success: true, Groups: var groups } match
        && match.Length == Scalar(key).Length && groups["required"].Success ? groups["name"].Value : null;

    private object? Get(string key) => entries.TryGetValue(key, out var value) ? value : throw Missing(key, "present");

    private InvalidOperationException Missing(string key, string what) => new($"{path}.{key} should be {what}.");

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?::?-(?<default>[^}]*))|(?::\?(?<required>[^}]*)))?\}")]
    private static partial Regex Variable();
}
