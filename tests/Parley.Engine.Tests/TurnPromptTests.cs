using Microsoft.Extensions.AI;
using Parley.Engine;
using Parley.Engine.Bots;

namespace Parley.Engine.Tests;

/// <summary>The token window of a turn's prompt (<see cref="TurnPrompt"/>), with a counter of one token per word.</summary>
public sealed class TurnPromptTests
{
    private sealed class WordCounter : ITokenCounter
    {
        public int Count(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    private static readonly WordCounter Words = new();

    private static StoredMessage Message(long sequence, string role, string content) =>
        new(Guid.NewGuid(), Guid.Empty, sequence, role, content, MessageStatuses.Completed, null, DateTime.UtcNow);

    [Fact]
    public void KeepsTheNewestMessagesThatFitAndStartsWithAUserMessage()
    {
        // Each message: 3 words + 4 framing = 7 tokens; system "be brief" = 2 + 4; reply priming 3.
        var history = Enumerable.Range(1, 6)
            .Select(i => Message(i, i % 2 == 1 ? MessageRoles.User : MessageRoles.Assistant, $"word word {i}"))
            .ToList();
        // Budget 30: 3 + 6 + 3 × 7 = 30 → the newest three fit (4, 5, 6); the prompt then drops the assistant message 4.
        var prompt = TurnPrompt.Build("be brief", history, new ModelSpec("m", 40, 10), Words)!;

        Assert.Equal(ChatRole.System, prompt[0].Role);
        Assert.Equal(["be brief", "word word 5", "word word 6"], prompt.Select(m => m.Text));
        Assert.Equal(3 + 6 + 7 + 7, prompt.Tokens);
    }

    [Fact]
    public void StoredTokenCountsAreUsedInsteadOfCountingAgain()
    {
        var stored = Message(1, MessageRoles.User, "three words here") with { TokenCount = 50 };

        Assert.Null(TurnPrompt.Build(null, [stored], new ModelSpec("m", 60, 10), Words)); // 3 + 54 > 50
        Assert.Equal(3 + 54, TurnPrompt.Build(null, [stored], new ModelSpec("m", 70, 10), Words)!.Tokens);
    }

    [Fact]
    public void ALastMessageThatDoesNotFitWithTheSystemPromptGivesNoPrompt()
    {
        var message = Message(1, MessageRoles.User, string.Join(' ', Enumerable.Repeat("w", 20)));

        // Budget 35: 3 + 24 fits alone; with the system prompt's 13 it does not.
        Assert.Null(TurnPrompt.Build("a long system prompt of nine words in all", [message], new ModelSpec("m", 45, 10), Words));
        Assert.NotNull(TurnPrompt.Build(null, [message], new ModelSpec("m", 45, 10), Words));
    }

    [Fact]
    public void DocumentExcerptsComeAfterTheSystemPromptAndTheLowestRankedAreDroppedFirst()
    {
        // Preamble 18 words + 4 framing = 22; each excerpt block "\n\n[doc #i]\nx y z" = 4; the message 3 + 4; priming 3.
        // Budget 40 = 3 + 7 + 22 + 4 + 4: the two best excerpts fit, the third does not.
        var excerpts = new[] { "a1 a2 a3", "b1 b2 b3", "c1 c2 c3" }
            .Select((text, i) => new DocumentExcerpt(new MessageSource(Guid.Empty, "doc", i), text)).ToList();

        var prompt = TurnPrompt.Build(null, [Message(1, MessageRoles.User, "q q q")], new ModelSpec("m", 50, 10), Words, excerpts)!;

        Assert.Equal([ChatRole.System, ChatRole.User], prompt.Select(m => m.Role));
        Assert.StartsWith(TurnPrompt.ExcerptsPreamble, prompt[0].Text, StringComparison.Ordinal);
        Assert.Contains("[doc #0]\na1 a2 a3", prompt[0].Text, StringComparison.Ordinal);
        Assert.Contains("[doc #1]\nb1 b2 b3", prompt[0].Text, StringComparison.Ordinal);
        Assert.DoesNotContain("c1", prompt[0].Text, StringComparison.Ordinal);
        Assert.Equal([0, 1], prompt.Sources!.Select(s => s.ChunkIndex));
        Assert.Equal(40, prompt.Tokens);
    }

    [Fact]
    public void WithoutExcerptsThePromptHasNoContextMessageAndNoSources()
    {
        var prompt = TurnPrompt.Build("sys", [Message(1, MessageRoles.User, "q")], new ModelSpec("m", 50, 10), Words, [])!;

        Assert.Equal(["sys", "q"], prompt.Select(m => m.Text));
        Assert.Null(prompt.Sources);
    }
}
