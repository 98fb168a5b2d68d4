using System.Globalization;
using System.Text;
using TaskServer.Host.Auth;

namespace TaskServer.Host.Tests.Auth;

public sealed class DashboardAuthorizationTests
{
    private const string AdminKey = "admin-key-0123456789";

    private static readonly string[] AdminKeys = ["other-admin-key-000", AdminKey];

    [Theory]
    [InlineData("admin")]
    [InlineData("somebody else")]
    [InlineData("")]
    public void Basic_with_an_admin_key_as_password_is_admitted_whatever_the_user_name(string user) =>
        Assert.True(IsAdmin(Basic($"{user}:{AdminKey}"), AdminKeys));

    [Fact]
    public void The_scheme_name_is_case_insensitive() =>
        Assert.True(IsAdmin(Basic($"admin:{AdminKey}").Replace("Basic", "basic", StringComparison.Ordinal), AdminKeys));

    [Fact]
    public void A_password_may_contain_colons_after_the_first() =>
        Assert.True(IsAdmin(Basic("admin:key:with:colons-0001"), ["key:with:colons-0001"]));

    [Fact]
    public void A_wrong_password_is_refused() =>
        Assert.False(IsAdmin(Basic("admin:admin-key-0123456788"), AdminKeys));

    [Fact]
    public void The_admin_key_as_user_name_is_refused() =>
        Assert.False(IsAdmin(Basic($"{AdminKey}:"), AdminKeys));

    [Fact]
    public void Credentials_without_a_colon_are_refused() =>
        Assert.False(IsAdmin(Basic(AdminKey), AdminKeys));

    [Theory]
    [InlineData("Basic not*base64!")]
    [InlineData("Basic ")]
    [InlineData("Basic")]
    [InlineData("")]
    public void A_malformed_header_is_refused(string header) =>
        Assert.False(IsAdmin(header, AdminKeys));

    [Theory]
    [InlineData("Bearer {0}")]
    [InlineData("Bearer {1}")]
    public void Another_scheme_is_refused_even_with_valid_credentials(string format) =>
        Assert.False(IsAdmin(string.Format(CultureInfo.InvariantCulture, format, AdminKey, Basic($"admin:{AdminKey}")[6..]), AdminKeys));

    [Fact]
    public void A_viewer_key_is_not_an_admin_key()
    {
        var options = Options(AdminKeys);
        options.ViewerKeys.Add("viewer-key-0123456789");

        Assert.Equal(KeyRole.Viewer, options.RoleOf(DashboardAuthorization.BasicPassword(Basic("ops:viewer-key-0123456789"))!));
    }

    private static bool IsAdmin(string authorization, IEnumerable<string> adminKeys) =>
        DashboardAuthorization.BasicPassword(authorization) is { } password && Options(adminKeys).RoleOf(password) == KeyRole.Admin;

    private static AuthOptions Options(IEnumerable<string> adminKeys)
    {
        var options = new AuthOptions();
        foreach (var key in adminKeys)
        {
            options.AdminKeys.Add(key);
        }

        return options;
    }

    private static string Basic(string credentials) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials));
}
