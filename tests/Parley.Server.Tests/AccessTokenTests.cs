using System.Net;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Bearer token validation: each forged token differs from a valid one in exactly one respect.</summary>
public abstract class AccessTokenTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task ATokenMintedLikeTheServersIsAccepted()
    {
        // The control for the tests below: the forge itself produces tokens the server accepts.
        var (user, sid) = await UserAndSessionAsync();

        var status = await MeWithAsync(TokenForge.Mint(Factory.SigningKey!, user.Id.ToString(), sid));

        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task TokensSignedWithAnotherKeyAreRejected()
    {
        var (user, sid) = await UserAndSessionAsync();

        var status = await MeWithAsync(TokenForge.Mint(TokenForge.RandomKey(), user.Id.ToString(), sid));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task ExpiredTokensAreRejected()
    {
        var (user, sid) = await UserAndSessionAsync();

        // Expired two minutes ago: beyond the 30 s clock skew allowance.
        var token = TokenForge.Mint(Factory.SigningKey!, user.Id.ToString(), sid, DateTime.UtcNow.AddMinutes(-17), TimeSpan.FromMinutes(15));

        Assert.Equal(HttpStatusCode.Unauthorized, await MeWithAsync(token));
    }

    [Fact]
    public async Task TokensNotValidYetAreRejected()
    {
        var (user, sid) = await UserAndSessionAsync();

        var token = TokenForge.Mint(Factory.SigningKey!, user.Id.ToString(), sid, DateTime.UtcNow.AddMinutes(10));

        Assert.Equal(HttpStatusCode.Unauthorized, await MeWithAsync(token));
    }

    [Fact]
    public async Task TokensForAnotherAudienceAreRejected()
    {
        var (user, sid) = await UserAndSessionAsync();

        var status = await MeWithAsync(TokenForge.Mint(Factory.SigningKey!, user.Id.ToString(), sid, audience: "someone-else"));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task TokensFromAnotherIssuerAreRejected()
    {
        var (user, sid) = await UserAndSessionAsync();

        var status = await MeWithAsync(TokenForge.Mint(Factory.SigningKey!, user.Id.ToString(), sid, issuer: "someone-else"));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task TokensWithoutASessionAreRejected()
    {
        var (user, _) = await UserAndSessionAsync();

        var status = await MeWithAsync(TokenForge.Mint(Factory.SigningKey!, user.Id.ToString(), "not-a-session"));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task TokensWhoseSubjectIsNotAUserIdAreRejected()
    {
        var (_, sid) = await UserAndSessionAsync();

        var status = await MeWithAsync(TokenForge.Mint(Factory.SigningKey!, "not-a-guid", sid));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task UnsignedTokensAreRejected()
    {
        var (user, _) = await UserAndSessionAsync();
        var signed = user.Tokens.AccessToken.Split('.');
        var header = WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes("""{"alg":"none","typ":"JWT"}"""));

        Assert.Equal(HttpStatusCode.Unauthorized, await MeWithAsync($"{header}.{signed[1]}."));
    }

    [Fact]
    public async Task TamperedTokensAreRejected()
    {
        var (user, _) = await UserAndSessionAsync();
        var parts = user.Tokens.AccessToken.Split('.');
        var other = await Factory.CreateUserAsync();
        var payload = Encoding.UTF8.GetString(WebEncoders.Base64UrlDecode(parts[1]))
            .Replace(user.Id.ToString(), other.Id.ToString(), StringComparison.Ordinal); // become someone else, keep the signature

        var token = $"{parts[0]}.{WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";

        Assert.Equal(HttpStatusCode.Unauthorized, await MeWithAsync(token));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    public async Task MalformedTokensAreRejected(string token)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await MeWithAsync(token));
    }

    [Fact]
    public async Task UnauthorizedResponsesAreProblemDetailsWithABearerChallenge()
    {
        using var client = Factory.CreateClient("garbage");

        using var response = await client.GetAsync("/api/users/me", Cancel);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    private async Task<(TestUser User, string SessionId)> UserAndSessionAsync()
    {
        var user = await Factory.CreateUserAsync();
        var sid = TokenForge.Read(user.Tokens.AccessToken).GetClaim("sid").Value;
        return (user, sid);
    }

    private async Task<HttpStatusCode> MeWithAsync(string token)
    {
        using var client = Factory.CreateClient(token);
        using var response = await client.GetAsync("/api/users/me", Cancel);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        return response.StatusCode;
    }
}

public sealed class AccessTokensOnSqlite(SqliteFixture fixture) : AccessTokenTests<SqliteFixture>(fixture);

public sealed class AccessTokensOnPostgreSql(PostgreSqlFixture fixture) : AccessTokenTests<PostgreSqlFixture>(fixture);
