using TaskServer.Testing;

namespace TaskServer.EndToEnd.Tests;

/// <summary>The settings every test node gets: one database, shared secrets, short retry backoff.</summary>
public static class ClusterSettings
{
    public const string ApiKey = "client-key-for-tests-0001";
    public const string OtherApiKey = "client-key-for-tests-0002";
    public const string AdminKey = "admin-key-for-tests-00001";
    public const string ViewerKey = "viewer-key-for-tests-0001";
    public const string ClusterSecret = "cluster-secret-for-tests-01";

    public static Dictionary<string, string> For(PostgresDatabase database, string role, string name, params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:ConnectionString"] = database.ConnectionString,
            ["Node:Role"] = role,
            ["Node:Name"] = name,
            ["Node:ClusterSecret"] = ClusterSecret,
            ["Node:Capacity"] = "8",
            ["Auth:ApiKeys:0"] = ApiKey,
            ["Auth:ApiKeys:1"] = OtherApiKey,
            ["Auth:AdminKeys:0"] = AdminKey,
            ["Auth:ViewerKeys:0"] = ViewerKey,
            ["Execution:RetryBaseDelay"] = "00:00:00.100",

            // Tests hold workers busy with sleeps longer than the production bound.
            ["Execution:MaxSleepMs"] = "3600000",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:TaskServer"] = "Information",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        return settings;
    }
}
