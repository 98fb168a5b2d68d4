using Microsoft.Extensions.Options;

namespace TaskServer.Host.Auth;

/// <summary>
/// Configuration section <c>Auth</c>: client API keys (Bearer, the task API), viewer keys (the dashboard, read-only)
/// and admin keys (the dashboard, <c>/cluster</c>, faults, every client's tasks).
/// </summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>What every demo value in this repository's samples contains: refused outside Development.</summary>
    public const string DemoMarker = "change-me";

    public IList<string> ApiKeys { get; } = [];

    public IList<string> ViewerKeys { get; } = [];

    public IList<string> AdminKeys { get; } = [];

    /// <summary>What a presented key may do; <see cref="KeyRole.None"/> for a key not configured here.</summary>
    internal KeyRole RoleOf(string presented) =>
        KeyRing.Contains(AdminKeys, presented) ? KeyRole.Admin
        : KeyRing.Contains(ApiKeys, presented) ? KeyRole.Client
        : KeyRing.Contains(ViewerKeys, presented) ? KeyRole.Viewer
        : KeyRole.None;
}

internal enum KeyRole
{
    None,
    Viewer,
    Client,
    Admin,
}

internal sealed class AuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        if (options.ApiKeys.Count == 0)
        {
            failures.Add("Auth:ApiKeys needs at least one key (Auth__ApiKeys__0=...).");
        }

        if (options.AdminKeys.Count == 0)
        {
            failures.Add("Auth:AdminKeys needs at least one key (Auth__AdminKeys__0=...).");
        }

        var all = options.ApiKeys.Concat(options.ViewerKeys).Concat(options.AdminKeys).ToList();
        if (all.Any(k => k.Length < 16))
        {
            failures.Add("Every key in Auth:ApiKeys, Auth:ViewerKeys and Auth:AdminKeys must be at least 16 characters.");
        }

        if (all.Count != all.Distinct(StringComparer.Ordinal).Count())
        {
            failures.Add("A key may appear only once across Auth:ApiKeys, Auth:ViewerKeys and Auth:AdminKeys: its role would be ambiguous.");
        }

        if (!environment.IsDevelopment() && all.Any(IsDemoValue))
        {
            failures.Add($"A key in Auth contains '{AuthOptions.DemoMarker}': demo values are refused outside Development. Generate real keys.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static bool IsDemoValue(string value) => value.Contains(AuthOptions.DemoMarker, StringComparison.OrdinalIgnoreCase);
}
