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
        Assert.True(DashboardAuthorization.IsAdmin(Basic($"{user}:{AdminKey}"), AdminKeys));

    [Fact]
    public void The_scheme_name_is_case_insensitive() =>
        Assert.True(DashboardAuthorization.IsAdmin(Basic($"admin:{AdminKey}").Replace("Basic", "basic", StringComparison.Ordinal), AdminKeys));

    [Fact]
    public void A_password_may_contain_colons_after_the_first() =>
        Assert.True(DashboardAuthorization.IsAdmin(Basic("admin:key:with:colons-0001"), ["key:with:colons-0001"]));

    [Fact]
    public void A_wrong_password_is_refused() =>
        Assert.False(DashboardAuthorization.IsAdmin(Basic("admin:admin-key-0123456788"), AdminKeys));

    [Fact]
    public void The_admin_key_as_user_name_is_refused() =>
        Assert.False(DashboardAuthorization.IsAdmin(Basic($"{AdminKey}:"), AdminKeys));

    [Fact]
    public void Credentials_without_a_colon_are_refused() =>
        Assert.False(DashboardAuthorization.IsAdmin(Basic(AdminKey), AdminKeys));

    [Theory]
    [InlineData("Basic not*base64!")]
    [InlineData("Basic ")]
    [InlineData("Basic")]
    [InlineData("")]
    public void A_malformed_header_is_refused(string header) =>
        Assert.False(DashboardAuthorization.IsAdmin(header, AdminKeys));

    [Theory]
    [InlineData("Bearer {0}")]
    [InlineData("Bearer {1}")]
    public void Another_scheme_is_refused_even_with_valid_credentials(string format) =>
        Assert.False(DashboardAuthorization.IsAdmin(string.Format(CultureInfo.InvariantCulture, format, AdminKey, Basic($"admin:{AdminKey}")[6..]), AdminKeys));

    private static string Basic(string credentials) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials));
}
