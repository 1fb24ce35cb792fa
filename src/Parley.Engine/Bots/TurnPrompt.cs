using Microsoft.Extensions.AI;

namespace Parley.Engine.Bots;

/// <summary>
/// The messages sent to the model for one turn: the system prompt, then the newest messages of the conversation that fit
/// the model's prompt budget (<see cref="ModelSpec.PromptBudget"/>), starting with a user message. With document excerpts
/// (<see cref="IPromptAugmenter"/>), one system message after the system prompt carries those that fit once the system prompt
/// and the user message are counted, best first (the lowest-ranked are dropped first); older history gets what is left. Stored messages become
/// <see cref="ChatMessage"/>s only when read, so a bot that reads only the last one (the echo bot) converts one.
/// </summary>
/// <remarks>
/// Token counts follow OpenAI's accounting for chat models (the "How to count tokens with tiktoken" cookbook): each
/// message costs its content's tokens plus <see cref="TokensPerMessage"/>, and every reply is primed with
/// <see cref="TokensPerReply"/>. Messages carry their count from when they were stored; older rows without one are counted here.
/// </remarks>
public sealed class TurnPrompt : IReadOnlyList<ChatMessage>
{
    /// <summary>Framing tokens per message (role and separators).</summary>
    public const int TokensPerMessage = 4;

    /// <summary>Tokens that prime the assistant's reply.</summary>
    public const int TokensPerReply = 3;

    /// <summary>The first line of the system message that carries document excerpts.</summary>
    public const string ExcerptsPreamble =
        "Use these excerpts from the user's documents to answer when they are relevant; each is labelled [title #chunk].";

    private readonly string? _system;
    private readonly string? _excerpts;
    private readonly StoredMessage[] _messages;
    private readonly ChatMessage?[] _converted;

    private TurnPrompt(string? system, string? excerpts, IReadOnlyList<MessageSource>? sources, StoredMessage[] messages, int tokens)
    {
        _system = system;
        _excerpts = excerpts;
        Sources = sources;
        _messages = messages;
        _converted = new ChatMessage?[Count];
        Tokens = tokens;
    }

    /// <summary>The documents' chunks the prompt carries, best first; null when none.</summary>
    public IReadOnlyList<MessageSource>? Sources { get; }

    private int Leading => (_system is null ? 0 : 1) + (_excerpts is null ? 0 : 1);

    /// <summary>The prompt's estimated size in tokens (what the model will count as prompt tokens, for OpenAI models).</summary>
    public int Tokens { get; }

    /// <summary>The newest message of the prompt (the user message being answered).</summary>
    public StoredMessage Last => _messages[^1];

    /// <inheritdoc />
    public int Count => _messages.Length + Leading;

    /// <inheritdoc />
    public ChatMessage this[int index]
    {
        get
        {
            if (index < Leading)
            {
                return _converted[index] ??= new ChatMessage(ChatRole.System, index == 0 && _system is not null ? _system : _excerpts!);
            }

            var message = _messages[index - Leading];
            return _converted[index] ??= new ChatMessage(message.Role == MessageRoles.User ? ChatRole.User : ChatRole.Assistant, message.Content);
        }
    }

    /// <summary>Tokens one message adds to a prompt.</summary>
    public static int MessageTokens(StoredMessage message, ITokenCounter counter) =>
        (message.TokenCount > 0 || message.Content.Length == 0 ? message.TokenCount : counter.Count(message.Content)) + TokensPerMessage;

    /// <summary>
    /// Builds the prompt from <paramref name="history"/> (oldest first; the last one is the user message being answered).
    /// </summary>
    /// <param name="systemPrompt">The system prompt; null or empty for none.</param>
    /// <param name="history">The branch, oldest first; the last one is the user message being answered.</param>
    /// <param name="model">Whose prompt budget applies.</param>
    /// <param name="counter">Counts tokens.</param>
    /// <param name="excerpts">Document excerpts for the last message, best first; null or empty for none.</param>
    /// <returns>The prompt, or null when the system prompt and the last message alone exceed the budget.</returns>
    public static TurnPrompt? Build(
        string? systemPrompt, IReadOnlyList<StoredMessage> history, ModelSpec model, ITokenCounter counter, IReadOnlyList<DocumentExcerpt>? excerpts = null)
    {
        var system = string.IsNullOrEmpty(systemPrompt) ? null : systemPrompt;
        var tokens = TokensPerReply + (system is null ? 0 : counter.Count(system) + TokensPerMessage);
        var (context, sources, contextTokens) = history.Count == 0 ? (null, null, 0)
            : Excerpts(excerpts, model.PromptBudget - tokens - MessageTokens(history[^1], counter), counter);
        tokens += contextTokens;
        var first = history.Count;
        while (first > 0)
        {
            var next = MessageTokens(history[first - 1], counter);
            if (tokens + next > model.PromptBudget)
            {
                break;
            }

            tokens += next;
            first--;
        }

        if (first == history.Count)
        {
            return null;
        }

        // Chat models expect the user to speak first.
        while (first < history.Count - 1 && history[first].Role != MessageRoles.User)
        {
            tokens -= MessageTokens(history[first++], counter);
        }

        var messages = new StoredMessage[history.Count - first];
        for (var i = 0; i < messages.Length; i++)
        {
            messages[i] = history[first + i];
        }

        return new TurnPrompt(system, context, sources, messages, tokens);
    }

    /// <summary>The excerpts' system message: those that fit <paramref name="budget"/> tokens, best first.</summary>
    private static (string? Text, IReadOnlyList<MessageSource>? Sources, int Tokens) Excerpts(
        IReadOnlyList<DocumentExcerpt>? excerpts, int budget, ITokenCounter counter)
    {
        if (excerpts is not { Count: > 0 })
        {
            return (null, null, 0);
        }

        var text = new System.Text.StringBuilder(ExcerptsPreamble);
        var tokens = counter.Count(ExcerptsPreamble) + TokensPerMessage;
        var sources = new List<MessageSource>();
        foreach (var excerpt in excerpts)
        {
            var block = $"\n\n[{excerpt.Source.Title} #{excerpt.Source.ChunkIndex}]\n{excerpt.Text}";
            var cost = counter.Count(block);
            if (tokens + cost > budget)
            {
                break; // ranked best first: what does not fit, and everything ranked lower, is dropped
            }

            text.Append(block);
            tokens += cost;
            sources.Add(excerpt.Source);
        }

        return sources.Count == 0 ? (null, null, 0) : (text.ToString(), sources, tokens);
    }

    /// <inheritdoc />
    public IEnumerator<ChatMessage> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
