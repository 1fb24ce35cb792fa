using Parley.Engine;
using Parley.Engine.Bots;

namespace Parley.Engine.Tests;

/// <summary>
/// The in-RAM window keeps its messages compactly (issue 15): what it hands back equals what was put in, its bounds hold,
/// and an idle resident conversation keeps no spare capacity beyond its next turn.
/// </summary>
public sealed class ConversationContextTests
{
    private static readonly Guid ConversationId = Guid.CreateVersion7();
    private static readonly DateTime Now = new(2026, 11, 27, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void TheWindowHandsBackMessagesEqualToTheStoredOnes()
    {
        var user = new StoredMessage(Guid.CreateVersion7(), ConversationId, 1, MessageRoles.User, "Hello", MessageStatuses.Completed, "key-1", Now,
            TokenCount: 2, Charge: 7);
        var reply = new StoredMessage(Guid.CreateVersion7(), ConversationId, 2, MessageRoles.Assistant, "Hi there", MessageStatuses.Completed, null,
            Now.AddSeconds(1), TokenCount: 3, Model: new string("echo".AsSpan()), FinishReason: FinishReasons.Stop, Usage: new TokenUsage(11, 3),
            ParentId: user.Id, Sources: [new MessageSource(Guid.CreateVersion7(), "notes.txt", 4)]);
        var context = Context([user, reply]);

        Assert.Equal([user, reply], context.Window);
        Assert.Equal(reply.Id, context.LeafId);
        Assert.False(context.LeafIsUser);
        Assert.Equal(1, context.IndexOf(reply.Id));
        Assert.Equal(-1, context.IndexOf(Guid.CreateVersion7()));
        Assert.Equal(new StoredTurn(user, reply), context.FindTurn("key-1"));
        Assert.Equal([user, reply], context.History(2));
    }

    [Fact]
    public void CompletingATurnSettlesItsUserMessageInTheWindow()
    {
        var context = Context([]);
        var user = Message(1, MessageRoles.User) with { Status = MessageStatuses.Pending };

        context.Accept(context.Window, user, "node-a");
        Assert.Equal(user, context.PendingMessage);
        Assert.True(context.LeafIsUser);

        var reply = Message(2, MessageRoles.Assistant) with { Status = MessageStatuses.Cancelled, ParentId = user.Id };
        context.Complete(reply);

        Assert.Null(context.PendingMessage);
        Assert.Equal([user with { Status = MessageStatuses.Cancelled }, reply], context.Window);
    }

    [Fact]
    public void AnIdleWindowKeepsAtMostTheNextTurnsRoomAndStaysWithinItsBound()
    {
        var context = Context([], maxMessages: 50);
        for (var turn = 0; turn < 30; turn++)
        {
            var user = Message(context.LastSequence + 1, MessageRoles.User);
            var reply = Message(context.LastSequence + 2, MessageRoles.Assistant) with { ParentId = user.Id };
            context.AppendTurn(context.Window, user, reply);

            Assert.Equal(Math.Min(2 * (turn + 1), 50), context.WindowCount);
            Assert.InRange(context.WindowSlack, 0, 2); // a list would double: 32 entries for 20 messages
        }

        Assert.Equal(Enumerable.Range(11, 50).Select(s => (long)s), context.Window.Select(m => m.Sequence));
    }

    [Fact]
    public void TheCharacterBoundDropsTheOldestMessagesButKeepsTheNewest()
    {
        var context = Context([], maxMessages: 50, maxChars: 10);
        var user = Message(1, MessageRoles.User) with { Content = "123456" };
        var reply = Message(2, MessageRoles.Assistant) with { Content = "1234567", ParentId = user.Id };
        context.AppendTurn(context.Window, user, reply);
        Assert.Equal([reply], context.Window);

        var big = Message(3, MessageRoles.User) with { Content = new string('x', 20), ParentId = reply.Id };
        context.Accept(context.Window, big, "node-a");
        Assert.Equal([big], context.Window);
    }

    [Fact]
    public void MovingToAnotherBranchReplacesTheWindow()
    {
        var first = Message(1, MessageRoles.User);
        var reply = Message(2, MessageRoles.Assistant) with { ParentId = first.Id };
        var context = Context([first, reply]);
        var edit = Message(3, MessageRoles.User);

        context.Accept([], edit, "node-a");

        Assert.Equal([edit], context.Window);
    }

    private static ConversationContext Context(IReadOnlyList<StoredMessage> messages, int maxMessages = 50, int maxChars = 100_000) =>
        ConversationContext.From(ConversationId,
            new ConversationSnapshot(Guid.CreateVersion7(), 1, messages.Count == 0 ? 0 : messages[^1].Sequence, "title", messages, null),
            new EngineOptions { ContextWindowMessages = maxMessages, ContextWindowChars = maxChars });

    private static StoredMessage Message(long sequence, string role) => new(
        Guid.CreateVersion7(), ConversationId, sequence, role, $"message {sequence}", MessageStatuses.Completed, null, Now, TokenCount: 3,
        Model: role == MessageRoles.Assistant ? "echo" : null, FinishReason: role == MessageRoles.Assistant ? FinishReasons.Stop : null,
        Usage: role == MessageRoles.Assistant ? new TokenUsage(5, 3) : null, Charge: role == MessageRoles.User ? 1 : 0);
}
