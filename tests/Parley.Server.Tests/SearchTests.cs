using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Issue 12: full-text search over the caller's messages and titles — isolation, ranking, accents and case, prefixes, paging.</summary>
public abstract class SearchTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task AnotherUsersTextNeverAppears()
    {
        var alice = await Factory.CreateUserClientAsync();
        var bob = await Factory.CreateUserClientAsync();
        var mine = await alice.CreateConversationAsync("first");
        await alice.SendAsync(mine.Id, "zebra alpha");
        var theirs = await bob.CreateConversationAsync("zebra secrets");
        await bob.SendAsync(theirs.Id, "zebra beta");

        var found = await SearchAsync(alice, "zebra");

        Assert.Equal(2, found.Items.Count); // the message and its echo
        Assert.All(found.Items, item => Assert.Equal((mine.Id, "«zebra» alpha"), (item.ConversationId, item.Snippet)));
        var bobs = await SearchAsync(bob, "zebra");
        Assert.Equal(3, bobs.Items.Count);
        Assert.All(bobs.Items, item => Assert.Equal(theirs.Id, item.ConversationId));
    }

    [Fact]
    public async Task TheDenserMatchRanksFirst()
    {
        var client = await Factory.CreateUserClientAsync();
        var diluted = await client.CreateConversationAsync("one");
        var dilutedTurn = await client.SendAsync(diluted.Id, "a long sentence that mentions kiwi once among many other words about the weather today");
        var dense = await client.CreateConversationAsync("two");
        var denseTurn = await client.SendAsync(dense.Id, "kiwi kiwi kiwi");

        var found = await SearchAsync(client, "kiwi");

        Assert.Equal(4, found.Items.Count);
        Assert.Equal(Ids(denseTurn), found.Items.Take(2).Select(i => i.MessageId).Order());
        Assert.Equal(Ids(dilutedTurn), found.Items.Skip(2).Select(i => i.MessageId).Order());
    }

    [Fact]
    public async Task CaseAndAccentsDoNotMatterAndTheLastWordIsAPrefix()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("dessert");
        var turn = await client.SendAsync(conversation.Id, "Crème brûlée à Paris");

        foreach (var query in new[] { "creme BRU", "CRÈME brulee", "brûlée pari" })
        {
            var found = await SearchAsync(client, query);
            Assert.Equal(Ids(turn), found.Items.Select(i => i.MessageId).Order());
            Assert.All(found.Items, item => Assert.Equal(conversation.Id, item.ConversationId));
        }

        Assert.Equal("«Crème» «brûlée» à Paris", (await SearchAsync(client, "creme brul")).Items[0].Snippet);
        Assert.Empty((await SearchAsync(client, "brulees")).Items); // only the last word is a prefix, and no stemming
        Assert.Empty((await SearchAsync(client, "rème")).Items); // a prefix, not a substring
    }

    [Fact]
    public async Task TitlesAreSearchedAndFollowRenames()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("Quarterly roadmap review");

        var found = await SearchAsync(client, "roadm");

        var item = Assert.Single(found.Items);
        Assert.Equal((conversation.Id, (Guid?)null, "Quarterly roadmap review", "Quarterly «roadmap» review"), (item.ConversationId, item.MessageId, item.Title, item.Snippet));
        using var renamed = await client.PatchAsJsonAsync($"/api/conversations/{conversation.Id}", new { title = "Walrus plans" }, Cancel);
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        Assert.Empty((await SearchAsync(client, "roadmap")).Items);
        Assert.Equal(conversation.Id, Assert.Single((await SearchAsync(client, "walrus")).Items).ConversationId);
    }

    [Fact]
    public async Task ALastWordOfThreeLettersOrMoreIsAPrefixAndAShorterOneAWholeWord()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("words");
        await client.SendAsync(conversation.Id, "gopher tunnels");
        await client.SendAsync(conversation.Id, "we go north");

        // The echo bot repeats each message, so each text is stored twice (the user's and the reply).
        Assert.Equal(2, (await SearchAsync(client, "go")).Items.Count); // the word "go", not "gopher"
        Assert.All((await SearchAsync(client, "go")).Items, item => Assert.Contains("«go»", item.Snippet));
        Assert.Equal(2, (await SearchAsync(client, "gop")).Items.Count); // 3 letters: a prefix of "gopher"
        Assert.All((await SearchAsync(client, "gop")).Items, item => Assert.Contains("«gopher»", item.Snippet));
        Assert.Empty((await SearchAsync(client, "we no")).Items); // "no" is not "north"
        Assert.Equal(2, (await SearchAsync(client, "we nor")).Items.Count);
    }

    [Fact]
    public async Task DeletedConversationsLeaveTheIndex()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("to delete");
        await client.SendAsync(conversation.Id, "ephemeral pineapple");
        Assert.Equal(2, (await SearchAsync(client, "pineapple")).Items.Count);

        using var deleted = await client.DeleteAsync($"/api/conversations/{conversation.Id}", Cancel);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty((await SearchAsync(client, "pineapple")).Items);
    }

    [Fact]
    public async Task PagesFollowTheCursorWithoutRepeats()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("fruit");
        for (var i = 0; i < 3; i++)
        {
            await client.SendAsync(conversation.Id, $"mango number {i}");
        }

        var first = await SearchAsync(client, "mango", "&limit=4");
        var second = await SearchAsync(client, "mango", $"&limit=4&cursor={first.NextCursor}");

        Assert.Equal(4, first.Items.Count);
        Assert.NotNull(first.NextCursor);
        Assert.Equal(2, second.Items.Count);
        Assert.Null(second.NextCursor);
        Assert.Equal(6, first.Items.Concat(second.Items).Select(i => i.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task TheMigrationIndexesMessagesStoredBeforeIt()
    {
        await using var factory = await Fixture.StartFactoryAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync("older");
        var turn = await client.SendAsync(conversation.Id, "stored before the index");
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
            var migrations = db.Database.GetMigrations().ToList();
            var search = migrations.FindIndex(m => m.EndsWith("_Search", StringComparison.Ordinal));
            var migrator = db.GetService<IMigrator>();
            await migrator.MigrateAsync(migrations[search - 1], Cancel); // Down: the index is gone
            await db.Database.ExecuteSqlAsync($"UPDATE \"Messages\" SET \"Content\" = 'stored before the index, edited' WHERE \"Id\" = {turn.UserMessage.Id}", Cancel);
            await migrator.MigrateAsync(cancellationToken: Cancel); // Up: backfill
        }

        var found = await SearchAsync(client, "index");

        Assert.Equal(Ids(turn), found.Items.Select(i => i.MessageId).Order());
        Assert.Equal("stored before the index, «edited»", Assert.Single((await SearchAsync(client, "edited")).Items).Snippet);
        Assert.Equal(conversation.Id, Assert.Single((await SearchAsync(client, "older")).Items).ConversationId);
    }

    [Theory]
    [InlineData("q=%20!!%20", "q")]
    [InlineData("", "q")]
    [InlineData("q=x&limit=0", "limit")]
    [InlineData("q=x&limit=51", "limit")]
    [InlineData("q=x&cursor=zz", "cursor")]
    public async Task BadQueriesAreProblems(string query, string field)
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.GetAsync($"/api/search?{query}", Cancel);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task SearchNeedsALogin()
    {
        using var anonymous = Factory.CreateClient();

        using var response = await anonymous.GetAsync("/api/search?q=x", Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    /// <summary>Sends the owner token of <paramref name="user"/> (the SQLite index's Owner column) as a query word.</summary>
    protected static Task<PageBody<SearchResultBody>> SearchOwnerTokenAsync(HttpClient client, Guid user) =>
        SearchAsync(client, "u" + user.ToString("N"));

    private protected static IEnumerable<Guid?> Ids(TurnBody turn) => new Guid?[] { turn.UserMessage.Id, turn.AssistantMessage.Id }.Order();

    private protected static async Task<PageBody<SearchResultBody>> SearchAsync(HttpClient client, string q, string extra = "")
    {
        using var response = await client.GetAsync($"/api/search?q={Uri.EscapeDataString(q)}{extra}", Cancel);
        return await response.ReadAsync<PageBody<SearchResultBody>>();
    }
}

public sealed record SearchResultBody(Guid ConversationId, Guid? MessageId, string? Title, string Snippet, DateTimeOffset CreatedAt);

public sealed class SearchOnSqlite(SqliteFixture fixture) : SearchTests<SqliteFixture>(fixture)
{
    // The index rows carry their owner (migration Search); deletes must remove exactly what inserts added, also when a
    // conversation's delete cascades to its messages (the owner is looked up before the conversation's row is gone).
    [Fact]
    public async Task TheIndexMatchesTheTablesAfterConversationAndMessageDeletes()
    {
        var client = await Factory.CreateUserClientAsync();
        var kept = await client.CreateConversationAsync("kept walnut");
        var keptTurn = await client.SendAsync(kept.Id, "walnut kept");
        var gone = await client.CreateConversationAsync("gone walnut");
        await client.SendAsync(gone.Id, "walnut gone");
        var removed = await client.SendAsync(kept.Id, "walnut removed directly");

        using (var deleted = await client.DeleteAsync($"/api/conversations/{gone.Id}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await using var scope = Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
        await db.Database.ExecuteSqlAsync(
            $"DELETE FROM \"Messages\" WHERE \"Id\" IN ({removed.UserMessage.Id}, {removed.AssistantMessage.Id})", Cancel);
        await db.Database.ExecuteSqlRawAsync("""
            INSERT INTO "MessageSearch"("MessageSearch") VALUES ('integrity-check');
            INSERT INTO "ConversationSearch"("ConversationSearch") VALUES ('integrity-check');
            """, Cancel);

        var found = await SearchAsync(client, "walnut");
        Assert.Equal(Ids(keptTurn).Prepend(null), found.Items.Select(i => i.MessageId).Order());
    }

    [Fact]
    public async Task TheOwnerTokenIsNotASearchableWord()
    {
        var alice = await Factory.CreateUserClientAsync();
        var bob = await Factory.CreateUserClientAsync();
        var theirs = await bob.CreateConversationAsync("bob's");
        await bob.SendAsync(theirs.Id, "hello");
        var bobId = (await bob.GetFromJsonAsync<UserIdBody>("/api/users/me", Cancel))!.Id;

        Assert.Empty((await SearchOwnerTokenAsync(alice, bobId)).Items);
        Assert.Empty((await SearchOwnerTokenAsync(bob, bobId)).Items);
    }

    private sealed record UserIdBody(Guid Id);
}

public sealed class SearchOnPostgreSql(PostgreSqlFixture fixture) : SearchTests<PostgreSqlFixture>(fixture);
