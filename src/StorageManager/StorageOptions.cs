using Microsoft.Extensions.Options;

namespace TaskServer.StorageManager;

public enum StorageProvider
{
    Mongo,
    PostgreSql,
}

/// <summary>Configuration section <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.Mongo;

    /// <summary>MongoDB URI (run a replica set: fenced writes use transactions) or an Npgsql connection string.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>MongoDB database name; PostgreSQL takes the database from the connection string.</summary>
    public string Database { get; set; } = "taskserver";

    /// <summary>PostgreSQL schema that holds the task tables.</summary>
    public string Schema { get; set; } = "taskserver";

    /// <summary>Hangfire's PostgreSQL schema, or its MongoDB collection prefix.</summary>
    public string HangfireSchema { get; set; } = "hangfire";

    /// <summary>
    /// PostgreSQL: the most connections each of a node's two pools (task store, Hangfire) opens. Npgsql's own
    /// default, 100 per pool, let four nodes ask for 800 connections of a server that allows 300; when the
    /// server refused, jobs failed before their tasks could start. A full pool makes callers wait instead.
    /// </summary>
    public int MaxPoolSize { get; set; } = 20;
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(options.Provider))
        {
            failures.Add($"Storage:Provider must be Mongo or PostgreSql (was '{options.Provider}').");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add("Storage:ConnectionString is required.");
        }

        if (options.Provider == StorageProvider.Mongo && string.IsNullOrWhiteSpace(options.Database))
        {
            failures.Add("Storage:Database is required for the Mongo provider.");
        }

        if (options.Provider == StorageProvider.PostgreSql && !IsIdentifier(options.Schema))
        {
            failures.Add($"Storage:Schema must be a lower-case SQL identifier ([a-z_][a-z0-9_]*), was '{options.Schema}'.");
        }

        if (options.MaxPoolSize is < 2 or > 1000)
        {
            failures.Add($"Storage:MaxPoolSize must be between 2 and 1000 (was {options.MaxPoolSize}).");
        }

        if (!IsIdentifier(options.HangfireSchema) || options.HangfireSchema == options.Schema)
        {
            failures.Add($"Storage:HangfireSchema must be a lower-case identifier other than Storage:Schema, was '{options.HangfireSchema}'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // The schema name is spliced into SQL text, so only plain identifiers are accepted.
    private static bool IsIdentifier(string value) =>
        value.Length is > 0 and <= 63
        && (char.IsAsciiLetterLower(value[0]) || value[0] == '_')
        && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');
}
