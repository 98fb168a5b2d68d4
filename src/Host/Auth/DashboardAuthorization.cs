using System.Text;
using Hangfire.Dashboard;

namespace TaskServer.Host.Auth;

/// <summary>
/// HTTP Basic for the Hangfire dashboard: any user name, a password from <c>Auth:AdminKeys</c> (full access) or
/// <c>Auth:ViewerKeys</c> (read-only, see <see cref="IsReadOnly"/>).
/// </summary>
internal sealed class DashboardAuthorization(AuthOptions options) : IDashboardAuthorizationFilter
{
    public const string Challenge = "Basic realm=\"TaskServer\", charset=\"UTF-8\"";

    public bool Authorize(DashboardContext context)
    {
        var http = context.GetHttpContext();
        if (RoleOf(http) is KeyRole.Admin or KeyRole.Viewer)
        {
            return true;
        }

        // Without the challenge a browser would not ask for credentials; Hangfire then answers 401.
        http.Response.Headers.WWWAuthenticate = Challenge;
        return false;
    }

    /// <summary>Hangfire's <c>IsReadOnlyFunc</c>: viewers see everything and change nothing (no delete, requeue or trigger).</summary>
    public bool IsReadOnly(DashboardContext context) => RoleOf(context.GetHttpContext()) != KeyRole.Admin;

    internal static string? BasicPassword(string authorization)
    {
        if (!authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
            var separator = credentials.IndexOf(':', StringComparison.Ordinal);
            return separator >= 0 ? credentials[(separator + 1)..] : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private KeyRole RoleOf(HttpContext http) =>
        BasicPassword(http.Request.Headers.Authorization.ToString()) is { } password ? options.RoleOf(password) : KeyRole.None;
}
