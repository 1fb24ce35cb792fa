using Microsoft.Extensions.AI;

namespace Parley.Engine.Bots;

/// <summary>
/// The messages sent to the model for one turn: the system prompt, then the newest messages of the conversation that fit
/// the model's prompt budget (<see cref="ModelSpec.PromptBudget"/>), starting with a user message. Stored messages become
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

    private readonly string? _system;
    private readonly StoredMessage[] _messages;
    private readonly ChatMessage?[] _converted;

    private TurnPrompt(string? system, StoredMessage[] messages, int tokens)
    {
        _system = system;
        _messages = messages;
        _converted = new ChatMessage?[Count];
        Tokens = tokens;
    }

    /// <summary>The prompt's estimated size in tokens (what the model will count as prompt tokens, for OpenAI models).</summary>
    public int Tokens { get; }

    /// <summary>The newest message of the prompt (the user message being answered).</summary>
    public StoredMessage Last => _messages[^1];

    /// <inheritdoc />
    public int Count => _messages.Length + (_system is null ? 0 : 1);

    /// <inheritdoc />
    public ChatMessage this[int index]
    {
        get
        {
            if (_system is not null && index == 0)
            {
                return _converted[0] ??= new ChatMessage(ChatRole.System, _system);
            }

            var message = _messages[_system is null ? index : index - 1];
            return _converted[index] ??= new ChatMessage(message.Role == MessageRoles.User ? ChatRole.User : ChatRole.Assistant, message.Content);
        }
    }

    /// <summary>Tokens one message adds to a prompt.</summary>
    public static int MessageTokens(StoredMessage message, ITokenCounter counter) =>
        (message.TokenCount > 0 || message.Content.Length == 0 ? message.TokenCount : counter.Count(message.Content)) + TokensPerMessage;

    /// <summary>
    /// Builds the prompt from <paramref name="history"/> (oldest first; the last one is the user message being answered).
    /// </summary>
    /// <returns>The prompt, or null when the system prompt and the last message alone exceed the budget.</returns>
    public static TurnPrompt? Build(string? systemPrompt, IReadOnlyList<StoredMessage> history, ModelSpec model, ITokenCounter counter)
    {
        var system = string.IsNullOrEmpty(systemPrompt) ? null : systemPrompt;
        var tokens = TokensPerReply + (system is null ? 0 : counter.Count(system) + TokensPerMessage);
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

        return new TurnPrompt(system, messages, tokens);
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
