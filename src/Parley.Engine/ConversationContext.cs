namespace Parley.Engine;

/// <summary>
/// A conversation's working context in RAM: its owner, version, last sequence and a window of its newest messages,
/// trimmed to <see cref="EngineOptions.ContextWindowMessages"/> messages and <see cref="EngineOptions.ContextWindowChars"/>
/// characters. Touched only by the conversation's grain (one call at a time), so it needs no locking.
/// </summary>
internal sealed class ConversationContext
{
    private readonly List<StoredMessage> _window;
    private readonly int _maxMessages;
    private readonly int _maxChars;
    private long _chars;

    private ConversationContext(ConversationSnapshot snapshot, int maxMessages, int maxChars)
    {
        UserId = snapshot.UserId;
        Version = snapshot.Version;
        LastSequence = snapshot.LastSequence;
        HasTitle = snapshot.Title is not null;
        PendingNodeId = snapshot.PendingNodeId;
        Model = snapshot.Model;
        SystemPrompt = snapshot.SystemPrompt;
        PartialReply = snapshot.PartialReply;
        _maxMessages = maxMessages;
        _maxChars = maxChars;
        _window = new List<StoredMessage>(Math.Min(snapshot.RecentMessages.Count + 2, maxMessages));
        foreach (var message in snapshot.RecentMessages)
        {
            Add(message);
        }
    }

    public Guid UserId { get; }

    public long Version { get; private set; }

    public long LastSequence { get; private set; }

    public bool HasTitle { get; private set; }

    /// <summary>The conversation's model id (null: the default model).</summary>
    public string? Model { get; }

    /// <summary>The conversation's system prompt (null: <c>Bot:SystemPrompt</c>; empty: none).</summary>
    public string? SystemPrompt { get; }

    /// <summary>Set when the newest message is a user message still waiting for its reply: the node that stored it.</summary>
    public string? PendingNodeId { get; private set; }

    /// <summary>The pending turn's last checkpointed reply text, as loaded; null when none (only a crashed turn leaves one to load).</summary>
    public string? PartialReply { get; private set; }

    /// <summary>The pending user message, if any (the newest entry).</summary>
    public StoredMessage? PendingMessage => PendingNodeId is null || _window.Count == 0 ? null : _window[^1];

    public static ConversationContext From(ConversationSnapshot snapshot, EngineOptions options) =>
        new(snapshot, options.ContextWindowMessages, options.ContextWindowChars);

    /// <summary>Records a committed user message (the turn is now pending until <see cref="Complete"/>).</summary>
    /// <param name="userMessage">The stored user message.</param>
    /// <param name="nodeId">This node.</param>
    /// <param name="titled">Whether the commit gave the conversation a title (the start of the message) if it had none.</param>
    public void Accept(StoredMessage userMessage, string nodeId, bool titled = true)
    {
        Add(userMessage);
        Version++;
        LastSequence = userMessage.Sequence;
        HasTitle |= titled;
        PendingNodeId = nodeId;
    }

    /// <summary>Records that the conversation was given a title (or a title is being generated for it).</summary>
    public void MarkTitled() => HasTitle = true;

    /// <summary>Records a turn committed at once (user message and reply in one commit, one version).</summary>
    public void AppendTurn(StoredMessage userMessage, StoredMessage assistantMessage)
    {
        Add(userMessage);
        Add(assistantMessage);
        Version++;
        LastSequence = assistantMessage.Sequence;
        HasTitle = true;
    }

    /// <summary>Records a committed assistant message and the status it settled its user message with.</summary>
    public void Complete(StoredMessage assistantMessage)
    {
        if (_window.Count > 0 && _window[^1].Role == MessageRoles.User)
        {
            _window[^1] = _window[^1] with { Status = assistantMessage.Status };
        }

        Add(assistantMessage);
        Version++;
        LastSequence = assistantMessage.Sequence;
        PendingNodeId = null;
        PartialReply = null;
    }

    /// <summary>Finds a turn in the window by the client message id of its user message.</summary>
    public StoredTurn? FindTurn(string clientMessageId)
    {
        StoredMessage? user = null;
        foreach (var message in _window)
        {
            if (user is not null)
            {
                return new StoredTurn(user, message);
            }

            if (message.ClientMessageId == clientMessageId)
            {
                user = message;
            }
        }

        return user is null ? null : new StoredTurn(user, null);
    }

    /// <summary>
    /// The history the bot may see: the window up to and including <paramref name="lastSequence"/>, plus
    /// <paramref name="next"/> (a message not stored yet) if given — without failed turns, trimmed to the window's
    /// bounds, and starting with a user message (chat models expect the user to speak first). <see cref="Bots.TurnPrompt"/>
    /// then keeps the newest of these that fit the model's token budget.
    /// </summary>
    public List<StoredMessage> History(long lastSequence, StoredMessage? next = null)
    {
        var messages = new List<StoredMessage>(_window.Count + 1);
        foreach (var message in _window)
        {
            if (message.Sequence <= lastSequence && message.Status != MessageStatuses.Failed)
            {
                messages.Add(message);
            }
        }

        if (next is not null)
        {
            messages.Add(next);
        }

        // Keep the newest messages within the window's bounds (always the newest one), then start at a user message.
        var chars = 0L;
        var first = messages.Count;
        while (first > 0 && messages.Count - first < _maxMessages && (chars + messages[first - 1].Content.Length <= _maxChars || first == messages.Count))
        {
            chars += messages[--first].Content.Length;
        }

        while (first < messages.Count - 1 && messages[first].Role != MessageRoles.User)
        {
            first++;
        }

        messages.RemoveRange(0, first);
        return messages;
    }

    private void Add(StoredMessage message)
    {
        _window.Add(message);
        _chars += message.Content.Length;
        var drop = 0;
        while (_window.Count - drop > _maxMessages || (_chars > _maxChars && _window.Count - drop > 1))
        {
            _chars -= _window[drop++].Content.Length;
        }

        _window.RemoveRange(0, drop);
    }
}
