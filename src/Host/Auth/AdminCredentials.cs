namespace TaskServer.Host.Auth;

/// <summary>Operator endpoints accept an admin key as HTTP Basic (any user name) or as a Bearer token.</summary>
internal static class AdminCredentials
{
    public static bool Present(HttpRequest request, AuthOptions options)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? KeyRing.Contains(options.AdminKeys, header[7..].Trim())
            : DashboardAuthorization.IsAdmin(header, options.AdminKeys);
    }
}
