using TaskServer.Host.Api;

namespace TaskServer.Host.Auth;

/// <summary>Operator endpoints accept an admin key as HTTP Basic (any user name) or as a Bearer token.</summary>
internal static class AdminCredentials
{
    /// <summary>The presented key's role; <see cref="KeyRole.None"/> when none (or an unknown one) is presented.</summary>
    public static KeyRole Presented(HttpRequest request, AuthOptions options)
    {
        var header = request.Headers.Authorization.ToString();
        var key = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? header[7..].Trim()
            : DashboardAuthorization.BasicPassword(header);
        return key is null ? KeyRole.None : options.RoleOf(key);
    }

    /// <summary>Null for an admin; otherwise the answer: 401 (+ a Basic challenge) without a known key, 403 with a key of another role.</summary>
    public static IResult? Refusal(HttpRequest request, AuthOptions options)
    {
        switch (Presented(request, options))
        {
            case KeyRole.Admin:
                return null;
            case KeyRole.None:
                request.HttpContext.Response.Headers.WWWAuthenticate = DashboardAuthorization.Challenge;
                return Problems.AdminRequired();
            default:
                return Problems.Forbidden("Operator endpoints need an admin key.");
        }
    }
}
