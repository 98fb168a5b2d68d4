using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace TaskServer.Drill.Cluster;

/// <summary>
/// What a drill needs to know about a running cluster, read from the file <c>scripts/cluster.sh up</c>
/// writes (<c>.cluster/env</c>): sourceable shell assignments, <c>KEY=VALUE</c> with optional quotes.
/// </summary>
internal sealed record ClusterEnv(
    string Source,
    IReadOnlyList<Uri> Gateways,
    IReadOnlyList<Uri> Workers,
    string ApiKey,
    string AdminKey,
    string ClusterSecret,
    string StorageProvider,
    string StorageConnectionString,
    string? StorageDatabase,
    string PidsDir,
    IReadOnlyList<string> Nodes,
    string? Policy,
    bool FaultsEnabled,
    string? ClusterScript,
    string? ApiKey2 = null,
    string? CaCert = null)
{
    public const string PostgreSql = "PostgreSql";
    public const string Mongo = "Mongo";

    private static readonly string[] Required =
        ["GATEWAYS", "WORKERS", "API_KEY", "ADMIN_KEY", "CLUSTER_SECRET", "STORAGE_PROVIDER", "STORAGE_CONNECTION_STRING", "PIDS_DIR"];

    public bool IsPostgreSql => StorageProvider == PostgreSql;

    public static async Task<ClusterEnv> LoadAsync(string path, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ClusterEnvException($"{path}: not found. Start a cluster with 'scripts/cluster.sh up' (it writes .cluster/env) or pass --cluster FILE.");
        }

        return Parse(text, Path.GetFullPath(path));
    }

    /// <summary>Parses the file's text; <paramref name="source"/> names it in error messages.</summary>
    public static ClusterEnv Parse(string text, string source)
    {
        var values = ParseAssignments(text, source);
        var missing = Required.Where(key => !values.TryGetValue(key, out var value) || value.Length == 0).ToList();
        if (missing.Count > 0)
        {
            throw new ClusterEnvException($"{source}: missing {string.Join(", ", missing)} (expected the file 'scripts/cluster.sh up' writes).");
        }

        var provider = values["STORAGE_PROVIDER"] switch
        {
            var p when p.Equals(PostgreSql, StringComparison.OrdinalIgnoreCase) => PostgreSql,
            var p when p.Equals(Mongo, StringComparison.OrdinalIgnoreCase) => Mongo,
            var p => throw new ClusterEnvException($"{source}: STORAGE_PROVIDER must be PostgreSql or Mongo, was '{p}'."),
        };

        return new ClusterEnv(
            source,
            Urls(values, "GATEWAYS", source),
            Urls(values, "WORKERS", source),
            values["API_KEY"],
            values["ADMIN_KEY"],
            values["CLUSTER_SECRET"],
            provider,
            values["STORAGE_CONNECTION_STRING"],
            values.GetValueOrDefault("STORAGE_DATABASE") is { Length: > 0 } database ? database : null,
            values["PIDS_DIR"],
            List(values.GetValueOrDefault("NODES")),
            values.GetValueOrDefault("POLICY") is { Length: > 0 } policy ? policy : null,
            values.GetValueOrDefault("FAULTS") == "1",
            values.GetValueOrDefault("CLUSTER_SCRIPT") is { Length: > 0 } script ? script : null,
            values.GetValueOrDefault("API_KEY_2") is { Length: > 0 } apiKey2 ? apiKey2 : null,
            values.GetValueOrDefault("CA_CERT") is { Length: > 0 } ca ? ca : null);
    }

    /// <summary>
    /// The CA that signed the nodes' certificates of a cluster on TLS (<c>cluster.sh up --tls</c>), for every client
    /// the drill opens; null for a cluster on plain HTTP.
    /// </summary>
    public X509Certificate2? LoadCaCertificate()
    {
        if (CaCert is null)
        {
            return null;
        }

        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(CaCert));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ClusterEnvException($"{Source}: CA_CERT '{CaCert}' cannot be read as a PEM certificate: {e.Message}");
        }
    }

    /// <summary>The PID file of a node by its name ("alpha", "w1").</summary>
    public string PidFile(string nodeName) => Path.Combine(PidsDir, nodeName + ".pid");

    /// <summary>
    /// Every node by name with its URL: NODES lists the gateways' names in GATEWAYS order, then the
    /// workers' in WORKERS order (what cluster.sh writes). Empty when the counts disagree (a file written by hand).
    /// </summary>
    public IReadOnlyList<ClusterMember> Members =>
        Nodes.Count != Gateways.Count + Workers.Count
            ? []
            : [.. Nodes.Select((name, i) => new ClusterMember(name, i < Gateways.Count ? Gateways[i] : Workers[i - Gateways.Count], i < Gateways.Count))];

    /// <summary>scripts/cluster.sh of this cluster, for what only it does (restart a node, stop the database); fails when the file names none.</summary>
    public string RequireClusterScript() =>
        ClusterScript ?? throw new ClusterEnvException($"{Source}: no CLUSTER_SCRIPT (the file of an older scripts/cluster.sh up): run 'scripts/cluster.sh down' and 'up' again.");

    internal static Dictionary<string, string> ParseAssignments(string text, string source)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var key = equals > 0 ? line[..equals] : "";
            if (key.Length == 0 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || char.IsAsciiDigit(key[0]))
            {
                throw new ClusterEnvException($"{source}:{i + 1}: expected KEY=VALUE, found '{lines[i].Trim()}'.");
            }

            values[key] = Value(line[(equals + 1)..], source, i + 1);
        }

        return values;
    }

    /// <summary>A value as the shell reads it: 'literal', "with \" escapes", or bare up to a comment.</summary>
    private static string Value(string raw, string source, int lineNumber)
    {
        var value = new StringBuilder();
        var i = 0;
        while (i < raw.Length)
        {
            var c = raw[i];
            if (c == '\'')
            {
                var end = raw.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    throw new ClusterEnvException($"{source}:{lineNumber}: unterminated single quote.");
                }

                value.Append(raw, i + 1, end - i - 1);
                i = end + 1;
            }
            else if (c == '"')
            {
                i++;
                while (true)
                {
                    if (i >= raw.Length)
                    {
                        throw new ClusterEnvException($"{source}:{lineNumber}: unterminated double quote.");
                    }

                    if (raw[i] == '"')
                    {
                        i++;
                        break;
                    }

                    // Inside double quotes the shell drops a backslash only before $ ` " \.
                    if (raw[i] == '\\' && i + 1 < raw.Length && raw[i + 1] is '$' or '`' or '"' or '\\')
                    {
                        i++;
                    }

                    value.Append(raw[i]);
                    i++;
                }
            }
            else if (char.IsWhiteSpace(c))
            {
                // Unquoted whitespace ends the value; only a comment may follow it.
                var rest = raw[i..].TrimStart();
                if (rest.Length > 0 && rest[0] != '#')
                {
                    throw new ClusterEnvException($"{source}:{lineNumber}: unquoted space in value; quote it.");
                }

                break;
            }
            else
            {
                if (c == '\\' && i + 1 < raw.Length)
                {
                    i++;
                }

                value.Append(raw[i]);
                i++;
            }
        }

        return value.ToString();
    }

    private static List<string> List(string? value) =>
        value is null ? [] : [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static List<Uri> Urls(Dictionary<string, string> values, string key, string source) =>
        [.. List(values[key]).Select(item =>
            Uri.TryCreate(item, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
                ? new Uri(url.GetLeftPart(UriPartial.Authority))
                : throw new ClusterEnvException(string.Create(CultureInfo.InvariantCulture, $"{source}: {key} holds '{item}', not an http(s) URL.")))];
}

/// <summary>A node of the cluster file: its name (its PID file's and, on PostgreSQL, its database role's), URL and whether it runs a gateway.</summary>
internal sealed record ClusterMember(string Name, Uri Url, bool IsGateway);

/// <summary>The cluster file is missing, malformed or incomplete; the message says which and where.</summary>
internal sealed class ClusterEnvException(string message) : Exception(message);
