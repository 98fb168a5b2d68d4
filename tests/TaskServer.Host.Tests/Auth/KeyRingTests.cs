using System.Text.RegularExpressions;
using TaskServer.Host.Auth;

namespace TaskServer.Host.Tests.Auth;

public sealed partial class KeyRingTests
{
    private static readonly string[] Keys = ["client-key-0000001", "client-key-0000002"];

    [Theory]
    [InlineData("client-key-0000001")]
    [InlineData("client-key-0000002")]
    public void A_key_on_the_ring_is_found(string presented) =>
        Assert.True(KeyRing.Contains(Keys, presented));

    [Theory]
    [InlineData("client-key-000000")]
    [InlineData("client-key-00000011")]
    [InlineData("CLIENT-KEY-0000001")]
    [InlineData("")]
    public void Only_an_exact_match_is_found(string presented) =>
        Assert.False(KeyRing.Contains(Keys, presented));

    [Fact]
    public void An_empty_ring_finds_nothing() =>
        Assert.False(KeyRing.Contains([], ""));

    [Fact]
    public void A_client_id_is_twelve_lower_case_hex_characters() =>
        Assert.Matches(TwelveHex(), KeyRing.ClientId("client-key-0000001"));

    /// <summary>Idempotency keys are stored scoped by client id, so the id must not change across restarts or versions.</summary>
    [Fact]
    public void A_client_id_is_the_start_of_the_keys_sha256() =>
        Assert.Equal("ba7816bf8f01", KeyRing.ClientId("abc"));

    [Fact]
    public void Different_keys_have_different_client_ids() =>
        Assert.NotEqual(KeyRing.ClientId(Keys[0]), KeyRing.ClientId(Keys[1]));

    [GeneratedRegex("^[0-9a-f]{12}$")]
    private static partial Regex TwelveHex();
}
