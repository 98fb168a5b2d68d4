using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TaskServer.Host.Api;

namespace TaskServer.Host.Auth;

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c> against the keys of <see cref="AuthOptions"/>. A missing or unknown key is
/// 401 with a Bearer challenge; a known key without the right (a viewer key on the task API) is 403; all problem+json.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<AuthOptions> authOptions) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ClientIdClaim = "taskserver:client";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = PresentedKey();
        if (key is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var role = authOptions.Value.RoleOf(key);
        if (role == KeyRole.None)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        var identity = new ClaimsIdentity([new Claim(ClientIdClaim, KeyRing.ClientId(key)), new Claim(ClaimTypes.Role, role.ToString())], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        var problem = PresentedKey() is null ? Problems.MissingApiKey() : Problems.InvalidApiKey();
        return problem.ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.Forbidden("This key does not give access to the task API.").ExecuteAsync(Context);

    private string? PresentedKey()
    {
        var header = Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }
}

/// <summary>What the task API reads from the authenticated caller.</summary>
internal static class Caller
{
    /// <summary>The client id the task API scopes by (tasks, idempotency keys); empty when unauthenticated.</summary>
    public static string ClientId(ClaimsPrincipal user) => user.FindFirst(ApiKeyAuthenticationHandler.ClientIdClaim)?.Value ?? "";

    /// <summary>Admin keys see and cancel every client's tasks.</summary>
    public static bool IsAdmin(ClaimsPrincipal user) => user.IsInRole(nameof(KeyRole.Admin));
}
