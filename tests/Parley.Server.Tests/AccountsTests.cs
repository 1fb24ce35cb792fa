using System.Net;
using System.Net.Http.Json;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Registration, login, lockout, refresh rotation, logout and the caller's own account.</summary>
public abstract class AccountsTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task RegisteringCreatesAUserWithTheInitialBalance()
    {
        var userName = ParleyFactory.UniqueName();
        var email = $"{userName}@example.com";
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/register", new { userName, email, password = ParleyFactory.Password }, Cancel);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("/api/users/me", response.Headers.Location?.OriginalString);
        var user = await response.ReadAsync<UserBody>();
        Assert.NotEqual(Guid.Empty, user.Id);
        Assert.Equal(userName, user.UserName);
        Assert.Equal(email, user.Email);
        Assert.Equal(4000, user.TokenBalance);
        Assert.InRange(user.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task RegisteringWithoutEmailIsAllowed()
    {
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/register", new { userName = ParleyFactory.UniqueName(), password = ParleyFactory.Password }, Cancel);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Null((await response.ReadAsync<UserBody>()).Email);
    }

    [Theory]
    [InlineData("Sh0rt!x", "too short")]
    [InlineData("lowercase-only-7", "no upper-case letter")]
    [InlineData("UPPERCASE-ONLY-7", "no lower-case letter")]
    [InlineData("No-digits-here", "no digit")]
    [InlineData("NoSymbols1234", "no symbol")]
    [InlineData("", "empty")]
    public async Task PasswordPolicyViolationsAreReportedOnPassword(string password, string why)
    {
        using var client = Factory.CreateClient();
        var userName = ParleyFactory.UniqueName();

        using var response = await client.PostAsJsonAsync("/api/auth/register", new { userName, password }, Cancel);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "password");
        Assert.True(problem.Errors!.Keys.Count == 1, $"Only the password is wrong ({why}): {string.Join(", ", problem.Errors.Keys)}");
        await AssertCannotLogInAsync(userName, password);
    }

    [Fact]
    public async Task EveryPasswordRuleBrokenAtOnceIsReportedSeparately()
    {
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/register", new { userName = ParleyFactory.UniqueName(), password = "abc" }, Cancel);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "password");
        Assert.True(problem.Errors!["password"].Length >= 4, string.Join(" | ", problem.Errors["password"])); // length, upper, digit, symbol
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")] // 33 characters
    [InlineData("has space")]
    [InlineData("slash/name")]
    [InlineData("émile")]
    [InlineData("")]
    [InlineData("   ")]
    public async Task UserNameRulesAreReportedOnUserName(string userName)
    {
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/register", new { userName, password = ParleyFactory.Password }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "userName");
    }

    [Fact]
    public async Task UserNamesOfThreeAndThirtyTwoCharactersAreAccepted()
    {
        using var client = Factory.CreateClient();
        var suffix = Guid.NewGuid().ToString("N");

        using var longest = await client.PostAsJsonAsync("/api/auth/register", new { userName = ("x." + suffix)[..32], password = ParleyFactory.Password }, Cancel);
        Assert.Equal(HttpStatusCode.Created, longest.StatusCode);

        // This class's database is fresh and no other test uses three-character names.
        using var shortest = await client.PostAsJsonAsync("/api/auth/register", new { userName = "a_1", password = ParleyFactory.Password }, Cancel);
        Assert.Equal(HttpStatusCode.Created, shortest.StatusCode);
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("two@@example.com")]
    public async Task InvalidEmailIsReportedOnEmail(string email)
    {
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/register", new { userName = ParleyFactory.UniqueName(), email, password = ParleyFactory.Password }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "email");
    }

    [Fact]
    public async Task DuplicateUserNameReturnsConflictRegardlessOfCase()
    {
        var userName = ParleyFactory.UniqueName();
        await Factory.CreateUserAsync(userName);
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/register", new { userName = userName.ToUpperInvariant(), password = ParleyFactory.Password }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.Conflict, "userName");
    }

    [Fact]
    public async Task DuplicateEmailReturnsConflictRegardlessOfCase()
    {
        var email = $"{ParleyFactory.UniqueName()}@example.com";
        await Factory.CreateUserAsync(email: email);
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/register",
            new { userName = ParleyFactory.UniqueName(), email = email.ToUpperInvariant(), password = ParleyFactory.Password }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.Conflict, "email");
    }

    [Fact]
    public async Task ConcurrentRegistrationsOfOneNameCreateExactlyOneUser()
    {
        var userName = ParleyFactory.UniqueName();
        using var client = Factory.CreateClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            client.PostAsJsonAsync("/api/auth/register", new { userName, password = ParleyFactory.Password }, Cancel)));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        foreach (var response in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            await response.AssertProblemAsync(HttpStatusCode.Conflict);
        }

        Array.ForEach(responses, r => r.Dispose());
    }

    [Fact]
    public async Task LoginReturnsABearerTokenPair()
    {
        var user = await Factory.CreateUserAsync();

        Assert.Equal("Bearer", user.Tokens.TokenType);
        Assert.Equal(15 * 60, user.Tokens.ExpiresIn);
        Assert.False(string.IsNullOrWhiteSpace(user.Tokens.RefreshToken));
        Assert.Equal(3, user.Tokens.AccessToken.Split('.').Length); // a JWS compact serialization
        using var me = await user.Client.GetAsync("/api/users/me", Cancel);
        Assert.Equal(user.UserName, (await me.ReadAsync<UserBody>()).UserName);
    }

    [Fact]
    public async Task LoginByEmailWorks()
    {
        var email = $"{ParleyFactory.UniqueName()}@example.com";
        var user = await Factory.CreateUserAsync(email: email);

        var tokens = await Factory.LoginAsync(email);

        using var client = Factory.CreateClient(tokens.AccessToken);
        using var me = await client.GetAsync("/api/users/me", Cancel);
        Assert.Equal(user.Id, (await me.ReadAsync<UserBody>()).Id);
    }

    [Fact]
    public async Task LoginIsCaseInsensitiveForTheUserName()
    {
        var user = await Factory.CreateUserAsync();

        var tokens = await Factory.LoginAsync(user.UserName.ToUpperInvariant());

        Assert.False(string.IsNullOrEmpty(tokens.AccessToken));
    }

    [Fact]
    public async Task WrongPasswordAndUnknownUserGetTheSame401()
    {
        var user = await Factory.CreateUserAsync();
        using var client = Factory.CreateClient();

        using var wrongPassword = await client.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = "Wrong-password-1" }, Cancel);
        using var unknownUser = await client.PostAsJsonAsync("/api/auth/login", new { userName = ParleyFactory.UniqueName(), password = "Wrong-password-1" }, Cancel);

        var first = await wrongPassword.AssertProblemAsync(HttpStatusCode.Unauthorized);
        var second = await unknownUser.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(first.Detail, second.Detail); // no user enumeration
    }

    [Theory]
    [InlineData("""{"password":"Correct-horse-7"}""", "userName")]
    [InlineData("""{"userName":"someone"}""", "password")]
    [InlineData("""{"userName":"someone","password":""}""", "password")]
    public async Task LoginWithoutCredentialsReturnsProblemDetails(string body, string field)
    {
        using var client = Factory.CreateClient();

        using var response = await client.PostRawAsync("/api/auth/login", body);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task FiveFailedLoginsLockTheAccountEvenForTheRightPassword()
    {
        var user = await Factory.CreateUserAsync();
        using var client = Factory.CreateClient();

        for (var i = 0; i < 5; i++)
        {
            using var failed = await client.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = "Wrong-password-1" }, Cancel);
            await failed.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        using var locked = await client.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = user.Password }, Cancel);
        await locked.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.NotNull(locked.Headers.RetryAfter);

        // Tokens issued before the lockout keep working: the lock is about logging in.
        using var me = await user.Client.GetAsync("/api/users/me", Cancel);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
    }

    [Fact]
    public async Task ASuccessfulLoginResetsTheFailureCount()
    {
        var user = await Factory.CreateUserAsync();
        using var client = Factory.CreateClient();

        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                using var failed = await client.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = "Wrong-password-1" }, Cancel);
                Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
            }

            await Factory.LoginAsync(user.UserName); // the fifth attempt succeeds and resets the count
        }
    }

    [Fact]
    public async Task RefreshRotatesTheTokenPair()
    {
        var user = await Factory.CreateUserAsync();
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel);

        var rotated = await response.ReadAsync<TokenPairBody>();
        Assert.NotEqual(user.Tokens.RefreshToken, rotated.RefreshToken);
        Assert.NotEqual(user.Tokens.AccessToken, rotated.AccessToken);
        using var rotatedClient = Factory.CreateClient(rotated.AccessToken);
        using var me = await rotatedClient.GetAsync("/api/users/me", Cancel);
        Assert.Equal(user.Id, (await me.ReadAsync<UserBody>()).Id);

        // The rotated refresh token works once more in its turn.
        using var again = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = rotated.RefreshToken }, Cancel);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task ReusingARefreshTokenRevokesTheWholeSession()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?> { ["Jwt:RefreshReuseGraceSeconds"] = "0" });
        var user = await factory.CreateUserAsync();
        using var client = factory.CreateClient();
        using var first = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel);
        var rotated = await first.ReadAsync<TokenPairBody>();

        using var reuse = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel);

        await reuse.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var newer = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = rotated.RefreshToken }, Cancel);
        await newer.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var rotatedClient = factory.CreateClient(rotated.AccessToken);
        using var me = await rotatedClient.GetAsync("/api/users/me", Cancel);
        await me.AssertProblemAsync(HttpStatusCode.Unauthorized);

        // Another session of the same user is untouched, and logging in again works.
        var other = await factory.LoginAsync(user.UserName);
        using var otherClient = factory.CreateClient(other.AccessToken);
        using var otherMe = await otherClient.GetAsync("/api/users/me", Cancel);
        Assert.Equal(HttpStatusCode.OK, otherMe.StatusCode);
    }

    [Fact]
    public async Task ReusingAnOlderRefreshTokenRevokesTheSessionEvenWithinTheGrace()
    {
        var user = await Factory.CreateUserAsync();
        using var client = Factory.CreateClient();
        using var first = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel);
        var second = await first.ReadAsync<TokenPairBody>();
        using var next = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = second.RefreshToken }, Cancel);
        var third = await next.ReadAsync<TokenPairBody>();

        // The first token's successor has been used: presenting the first token again is a leak, not a second tab.
        using var reuse = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel);

        await reuse.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var newest = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = third.RefreshToken }, Cancel);
        await newest.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task TabsRefreshingOneTokenAtOnceGetTheSameNewPair()
    {
        const int Rounds = 10, Tabs = 4;
        var failedRounds = 0;
        var statuses = new List<int>();
        for (var round = 0; round < Rounds; round++)
        {
            var user = await Factory.CreateUserAsync();
            using var client = Factory.CreateClient();
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var refreshes = Enumerable.Range(0, Tabs).Select(async _ =>
            {
                await gate.Task;
                using var response = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel);
                return (Status: (int)response.StatusCode, Body: await response.Content.ReadAsStringAsync(Cancel));
            }).ToArray();
            gate.SetResult();
            var results = await Task.WhenAll(refreshes);
            statuses.AddRange(results.Select(r => r.Status));
            if (results.Any(r => r.Status != 200) || results.Select(r => r.Body).Distinct().Count() != 1)
            {
                failedRounds++;
                continue;
            }

            // The shared pair is a live session: its refresh token rotates in its turn.
            var pair = System.Text.Json.JsonSerializer.Deserialize<TokenPairBody>(results[0].Body, Json.Strict)!;
            using var again = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = pair.RefreshToken }, Cancel);
            failedRounds += again.StatusCode == HttpStatusCode.OK ? 0 : 1;
        }

        Assert.True(failedRounds == 0, $"Tabs did not share one live pair in {failedRounds}/{Rounds} rounds: statuses {string.Join(",", statuses)}");
    }

    [Theory]
    [InlineData("not-a-refresh-token")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task UnknownRefreshTokenReturns401(string refreshToken)
    {
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task RefreshWithoutATokenReturnsProblemDetails()
    {
        using var client = Factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = "" }, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "refreshToken");
    }

    [Fact]
    public async Task LogoutStopsTheRefreshTokenAndTheAccessTokenUsed()
    {
        var user = await Factory.CreateUserAsync();
        var otherSession = await Factory.LoginAsync(user.UserName);

        using var logout = await user.Client.PostAsJsonAsync("/api/auth/logout", new { refreshToken = user.Tokens.RefreshToken }, Cancel);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        using var me = await user.Client.GetAsync("/api/users/me", Cancel);
        await me.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var anonymous = Factory.CreateClient();
        using var refresh = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel);
        await refresh.AssertProblemAsync(HttpStatusCode.Unauthorized);

        // Only that session ended.
        using var otherClient = Factory.CreateClient(otherSession.AccessToken);
        using var otherMe = await otherClient.GetAsync("/api/users/me", Cancel);
        Assert.Equal(HttpStatusCode.OK, otherMe.StatusCode);
    }

    [Fact]
    public async Task LogoutWithoutABodyEndsTheCallersSession()
    {
        var user = await Factory.CreateUserAsync();

        using var logout = await user.Client.PostAsync("/api/auth/logout", content: null, Cancel);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        using var me = await user.Client.GetAsync("/api/users/me", Cancel);
        await me.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var anonymous = Factory.CreateClient();
        using var refresh = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel);
        await refresh.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task LogoutCannotEndAnotherUsersSession()
    {
        var alice = await Factory.CreateUserAsync();
        var mallory = await Factory.CreateUserAsync();

        using var logout = await mallory.Client.PostAsJsonAsync("/api/auth/logout", new { refreshToken = alice.Tokens.RefreshToken }, Cancel);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        using var me = await alice.Client.GetAsync("/api/users/me", Cancel);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        using var anonymous = Factory.CreateClient();
        using var refresh = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = alice.Tokens.RefreshToken }, Cancel);
        Assert.Equal(HttpStatusCode.OK, refresh.StatusCode);
    }

    [Fact]
    public async Task LogoutWithoutATokenReturns401()
    {
        using var client = Factory.CreateClient();

        using var response = await client.PostAsync("/api/auth/logout", content: null, Cancel);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task MeAndBalanceDescribeTheCaller()
    {
        var user = await Factory.CreateUserAsync();

        using var me = await user.Client.GetAsync("/api/users/me", Cancel);
        using var balance = await user.Client.GetAsync("/api/users/me/balance", Cancel);

        var body = await me.ReadAsync<UserBody>();
        Assert.Equal((user.Id, user.UserName, 4000L), (body.Id, body.UserName, body.TokenBalance));
        Assert.Equal(new BalanceBody(4000, 100), await balance.ReadAsync<BalanceBody>());
    }

    private async Task AssertCannotLogInAsync(string userName, string password)
    {
        if (string.IsNullOrEmpty(password))
        {
            return;
        }

        using var client = Factory.CreateClient();
        using var login = await client.PostAsJsonAsync("/api/auth/login", new { userName, password }, Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
    }
}

public sealed class AccountsOnSqlite(SqliteFixture fixture) : AccountsTests<SqliteFixture>(fixture);

public sealed class AccountsOnPostgreSql(PostgreSqlFixture fixture) : AccountsTests<PostgreSqlFixture>(fixture);
