using Microsoft.Extensions.Options;

namespace TaskServer.Host.Auth;

/// <summary>Configuration section <c>Auth</c>: client API keys (Bearer) and operator keys (dashboard, faults).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    public IList<string> ApiKeys { get; } = [];

    public IList<string> AdminKeys { get; } = [];
}

internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
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

        if (options.ApiKeys.Concat(options.AdminKeys).Any(k => k.Length < 16))
        {
            failures.Add("Every key in Auth:ApiKeys and Auth:AdminKeys must be at least 16 characters.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
