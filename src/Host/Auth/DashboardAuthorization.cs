using System.Text;
using Hangfire.Dashboard;

namespace TaskServer.Host.Auth;

/// <summary>HTTP Basic for the Hangfire dashboard: any user name, a password from <c>Auth:AdminKeys</c>.</summary>
internal sealed class DashboardAuthorization(IReadOnlyCollection<string> adminKeys) : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context)
    {
        var http = context.GetHttpContext();
        if (IsAdmin(http.Request.Headers.Authorization.ToString(), adminKeys))
        {
            return true;
        }

        // Without the challenge a browser would not ask for credentials; Hangfire then answers 401.
        http.Response.Headers.WWWAuthenticate = "Basic realm=\"TaskServer\", charset=\"UTF-8\"";
        return false;
    }

    internal static bool IsAdmin(string authorization, IEnumerable<string> adminKeys)
    {
        if (!authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
            var separator = credentials.IndexOf(':', StringComparison.Ordinal);
            return separator >= 0 && KeyRing.Contains(adminKeys, credentials[(separator + 1)..]);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
