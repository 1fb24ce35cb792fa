using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Accounts;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>What a host stored is there for the next host over the same data directory and database.</summary>
public abstract class DurabilityTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    /// <summary>No configured key: the first host generates one into the data directory and the next one reads it.</summary>
    private static readonly Dictionary<string, string?> GeneratedKey = new() { ["Jwt:SigningKey"] = null };

    [Fact]
    public async Task ConversationsMessagesAndBalanceSurviveAHostRestart()
    {
        var database = await Fixture.CreateDatabaseAsync();
        TestUser user;
        List<ConversationBody> conversations;
        List<List<MessageBody>> messages;
        await using (var first = await Fixture.StartFactoryAsync(GeneratedKey, database: database))
        {
            user = await first.CreateUserAsync();
            var work = await user.Client.CreateConversationAsync("work");
            var home = await user.Client.CreateConversationAsync("home");
            await user.Client.SendAsync(work.Id, "first");
            await user.Client.SendAsync(home.Id, "second");
            await user.Client.SendAsync(work.Id, "third");
            using var renamed = await user.Client.PatchAsJsonAsync($"/api/conversations/{home.Id}", new { title = "house" }, Cancel);
            Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
            conversations = [.. (await user.Client.ListConversationsAsync()).Items];
            messages = [await user.Client.GetAllMessagesAsync(work.Id), await user.Client.GetAllMessagesAsync(home.Id)];
        }

        Assert.True(File.Exists(Path.Combine(database.DataDirectory, "jwt-signing.key")));
        await using var second = await Fixture.StartFactoryAsync(GeneratedKey, database: database);

        // The access token of the first host still works: the signing key was persisted with the data.
        using var client = second.CreateClient(user.Tokens.AccessToken);
        Assert.Equal(3700, await client.GetBalanceAsync());
        Assert.Equal(conversations, (await client.ListConversationsAsync()).Items);
        Assert.Equal(messages[0], await client.GetAllMessagesAsync(conversations.Single(c => c.Title == "work").Id));
        Assert.Equal(messages[1], await client.GetAllMessagesAsync(conversations.Single(c => c.Title == "house").Id));

        // So does the refresh token, and the conversation continues where it stopped.
        using var anonymous = second.CreateClient();
        using var refreshed = await anonymous.PostAsJsonAsync("/api/auth/refresh", new { refreshToken = user.Tokens.RefreshToken }, Cancel);
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var next = await client.SendAsync(conversations.Single(c => c.Title == "work").Id, "fourth");
        Assert.Equal((5L, 3600L), (next.UserMessage.Sequence, next.TokenBalance));
    }

    [Fact]
    public async Task ALogoutSurvivesAHostRestart()
    {
        var database = await Fixture.CreateDatabaseAsync();
        TestUser user;
        await using (var first = await Fixture.StartFactoryAsync(GeneratedKey, database: database))
        {
            user = await first.CreateUserAsync();
            using var logout = await user.Client.PostAsync("/api/auth/logout", content: null, Cancel);
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        }

        await using var second = await Fixture.StartFactoryAsync(GeneratedKey, database: database);
        using var client = second.CreateClient(user.Tokens.AccessToken);

        // The new host reads recent revocations in the background from its start; wait for that read to have happened.
        await second.Services.GetRequiredService<RevokedSessions>().RefreshAsync(Cancel);
        using var me = await client.GetAsync("/api/users/me", Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
    }

    [Fact]
    public async Task APendingTurnLeftByACrashIsSettledAtTheNextStart()
    {
        var database = await Fixture.CreateDatabaseAsync();
        TestUser user;
        ConversationBody conversation;
        await using (var first = await Fixture.StartFactoryAsync(database: database))
        {
            user = await first.CreateUserAsync();
            conversation = await user.Client.CreateConversationAsync("interrupted");
            await user.Client.SendAsync(conversation.Id, "before the crash");
        }

        // What the engine leaves behind when the process dies between a turn's two commits: the user message stored
        // pending under this node's id, the conversation's version and last sequence moved, the user charged.
        var pendingId = Guid.CreateVersion7();
        await InsertPendingTurnAsync(database, user.Id, conversation.Id, pendingId, sequence: 3, "said just before the crash", ParleyFactory.NodeId);

        await using var second = await Fixture.StartFactoryAsync(database: database);
        using var client = second.CreateClient((await second.LoginAsync(user.UserName)).AccessToken);
        // The host settles this node's pending turns at start, before it serves (StartupRecovery).
        var messages = await client.GetAllMessagesAsync(conversation.Id);

        Assert.Equal([1L, 2L, 3L, 4L], messages.Select(m => m.Sequence));
        var (pending, reply) = (messages[2], messages[3]);
        Assert.Equal((pendingId, "user", "said just before the crash", "completed"), (pending.Id, pending.Role, pending.Content, pending.Status)); // never dropped
        Assert.Equal(("assistant", "said just before the crash", "completed"), (reply.Role, reply.Content, reply.Status)); // the echo bot answered it
        Assert.Equal(3800, await client.GetBalanceAsync());

        // The conversation takes new turns after it.
        var next = await client.SendAsync(conversation.Id, "after the restart");
        Assert.Equal(5L, next.UserMessage.Sequence);
    }

    [Fact]
    public async Task AnAbandonedPendingTurnOfAnotherNodeIsSettledWhenTheConversationIsNextUsed()
    {
        var database = await Fixture.CreateDatabaseAsync();
        TestUser user;
        ConversationBody conversation;
        await using (var first = await Fixture.StartFactoryAsync(database: database))
        {
            user = await first.CreateUserAsync();
            conversation = await user.Client.CreateConversationAsync();
        }

        // A node that died five minutes ago, longer than a turn may take (TurnTimeout 120 s plus grace).
        await InsertPendingTurnAsync(database, user.Id, conversation.Id, Guid.CreateVersion7(), sequence: 1, "a dead node's turn", "dead-node",
            DateTime.UtcNow.AddMinutes(-5));

        await using var second = await Fixture.StartFactoryAsync(database: database);
        using var client = second.CreateClient((await second.LoginAsync(user.UserName)).AccessToken);
        var next = await client.SendAsync(conversation.Id, "is anyone there?");

        Assert.Equal((3L, 4L), (next.UserMessage.Sequence, next.AssistantMessage.Sequence));
        var messages = await client.GetAllMessagesAsync(conversation.Id);
        Assert.Equal(["user", "assistant", "user", "assistant"], messages.Select(m => m.Role));
        Assert.All(messages, m => Assert.NotEqual("pending", m.Status));
        Assert.Equal("a dead node's turn", messages[0].Content);
    }


    /// <summary>Writes a pending user message the way the engine's accept commit does, without its completion.</summary>
    private static async Task InsertPendingTurnAsync(
        TestDatabase db, Guid userId, Guid conversationId, Guid messageId, long sequence, string content, string nodeId, DateTime? createdAt = null)
    {
        var now = createdAt ?? DateTime.UtcNow;
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        Assert.Equal(1, await db.ExecuteAsync(
            "UPDATE \"Conversations\" SET \"Version\" = \"Version\" + 1, \"LastSequence\" = @p0, \"UpdatedAt\" = @p1, \"CurrentMessageId\" = @p4 " +
            "WHERE \"Id\" = @p2 AND \"LastSequence\" = @p3",
            sequence, now, db.Id(conversationId), sequence - 1, db.Id(messageId)));
        Assert.Equal(1, await db.ExecuteAsync(
            "UPDATE \"AspNetUsers\" SET \"TokenBalance\" = \"TokenBalance\" - 100 WHERE \"Id\" = @p0", db.Id(userId)));
        Assert.Equal(1, await db.ExecuteAsync(
            "INSERT INTO \"Messages\" (\"Id\", \"ConversationId\", \"Sequence\", \"Role\", \"Content\", \"Status\", \"ClientMessageId\", \"CreatedAt\", \"NodeId\", \"ParentId\") " +
            "VALUES (@p0, @p1, @p2, 'user', @p3, 'pending', NULL, @p4, @p5, " +
            "(SELECT p.\"Id\" FROM \"Messages\" p WHERE p.\"ConversationId\" = @p1 AND p.\"Sequence\" = @p2 - 1))",
            db.Id(messageId), db.Id(conversationId), sequence, content, now, nodeId));
    }
}

public sealed class DurabilityOnSqlite(SqliteFixture fixture) : DurabilityTests<SqliteFixture>(fixture);

public sealed class DurabilityOnPostgreSql(PostgreSqlFixture fixture) : DurabilityTests<PostgreSqlFixture>(fixture);
