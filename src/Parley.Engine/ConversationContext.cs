namespace Parley.Engine;

/// <summary>
/// A conversation's working context in RAM: its owner, version, last sequence, current message and a window of the
/// branch it is on (the newest messages of the path from the root to the current message, or to the pending user
/// message while a turn runs), trimmed to <see cref="EngineOptions.ContextWindowMessages"/> messages and <see cref="EngineOptions.ContextWindowChars"/>
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
        UseDocuments = snapshot.UseDocuments;
        PartialReply = snapshot.PartialReply;
        CurrentMessageId = snapshot.CurrentMessageId;
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

    /// <summary>Turns add excerpts of the owner's documents to the prompt.</summary>
    public bool UseDocuments { get; }

    /// <summary>The leaf of the branch the user is on (the newest message of the window once the turn's commit is in); null when empty.</summary>
    public Guid? CurrentMessageId { get; private set; }

    /// <summary>The window's newest message: the end of the branch the next turn continues by default.</summary>
    public Guid? LeafId => _window.Count == 0 ? null : _window[^1].Id;

    /// <summary>The window (the branch's newest messages, oldest first).</summary>
    public IReadOnlyList<StoredMessage> Window => _window;

    /// <summary>Set when the newest message is a user message still waiting for its reply: the node that stored it.</summary>
    public string? PendingNodeId { get; private set; }

    /// <summary>The pending turn's last checkpointed reply text, as loaded; null when none (only a crashed turn leaves one to load).</summary>
    public string? PartialReply { get; private set; }

    /// <summary>The pending user message, if any (the newest entry).</summary>
    public StoredMessage? PendingMessage => PendingNodeId is null || _window.Count == 0 ? null : _window[^1];

    public static ConversationContext From(ConversationSnapshot snapshot, EngineOptions options) =>
        new(snapshot, options.ContextWindowMessages, options.ContextWindowChars);

    /// <summary>Records a committed user message (the turn is now pending until <see cref="Complete"/>).</summary>
    /// <param name="branch">The path the message follows (root to its parent), when it is not the window.</param>
    /// <param name="userMessage">The stored user message.</param>
    /// <param name="nodeId">This node.</param>
    /// <param name="titled">Whether the commit gave the conversation a title (the start of the message) if it had none.</param>
    public void Accept(IReadOnlyList<StoredMessage> branch, StoredMessage userMessage, string nodeId, bool titled = true)
    {
        MoveTo(branch);
        Add(userMessage);
        CurrentMessageId = userMessage.Id;
        Version++;
        LastSequence = userMessage.Sequence;
        HasTitle |= titled;
        PendingNodeId = nodeId;
    }

    /// <summary>Records that the conversation was given a title (or a title is being generated for it).</summary>
    public void MarkTitled() => HasTitle = true;

    /// <summary>Records a turn committed at once (user message and reply in one commit, one version) after <paramref name="branch"/>.</summary>
    public void AppendTurn(IReadOnlyList<StoredMessage> branch, StoredMessage userMessage, StoredMessage assistantMessage)
    {
        MoveTo(branch);
        Add(userMessage);
        CurrentMessageId = assistantMessage.Id;
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
        CurrentMessageId = assistantMessage.Id;
        Version++;
        LastSequence = assistantMessage.Sequence;
        PendingNodeId = null;
        PartialReply = null;
    }

    /// <summary>Records a committed regenerated reply: the window becomes <paramref name="branch"/> (root to the user message) and the reply.</summary>
    public void AppendReply(IReadOnlyList<StoredMessage> branch, StoredMessage assistantMessage)
    {
        MoveTo(branch);
        Add(assistantMessage);
        CurrentMessageId = assistantMessage.Id;
        Version++;
        LastSequence = assistantMessage.Sequence;
    }

    /// <summary>Makes <paramref name="branch"/> the window, unless it is the window already.</summary>
    private void MoveTo(IReadOnlyList<StoredMessage> branch)
    {
        if (ReferenceEquals(branch, _window))
        {
            return;
        }

        var copy = branch.ToList();
        _window.Clear();
        _chars = 0;
        foreach (var message in copy)
        {
            Add(message);
        }
    }

    /// <summary>
    /// Finds a turn in the window by the client message id of its user message (the reply is the next message of the
    /// branch), or of a regenerated reply (the user message is the previous one). Null when not in the window.
    /// </summary>
    public StoredTurn? FindTurn(string clientMessageId)
    {
        for (var i = 0; i < _window.Count; i++)
        {
            if (_window[i].ClientMessageId != clientMessageId)
            {
                continue;
            }

            if (_window[i].Role == MessageRoles.Assistant)
            {
                return i > 0 ? new StoredTurn(_window[i - 1], _window[i]) : null;
            }

            return new StoredTurn(_window[i], i + 1 < _window.Count ? _window[i + 1] : null);
        }

        return null;
    }

    /// <summary>
    /// The history the bot may see: <paramref name="branch"/> (a path from the root, oldest first; the window when null) up
    /// to and including <paramref name="lastSequence"/>, plus <paramref name="next"/> (a message not stored yet) if given —
    /// never a message of another branch, without failed turns, trimmed to the window's
    /// bounds, and starting with a user message (chat models expect the user to speak first). <see cref="Bots.TurnPrompt"/>
    /// then keeps the newest of these that fit the model's token budget.
    /// </summary>
    public List<StoredMessage> History(long lastSequence, StoredMessage? next = null, IReadOnlyList<StoredMessage>? branch = null)
    {
        branch ??= _window;
        var messages = new List<StoredMessage>(branch.Count + 1);
        foreach (var message in branch)
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
