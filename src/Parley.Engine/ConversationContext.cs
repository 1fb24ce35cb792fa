using System.Diagnostics;

namespace Parley.Engine;

/// <summary>
/// A conversation's working context in RAM: its owner, version, last sequence, current message and a window of the
/// branch it is on (the newest messages of the path from the root to the current message, or to the pending user
/// message while a turn runs), trimmed to <see cref="EngineOptions.ContextWindowMessages"/> messages and <see cref="EngineOptions.ContextWindowChars"/>
/// characters. Touched only by the conversation's grain (one call at a time), so it needs no locking.
/// </summary>
/// <remarks>
/// Memory (issue 15): a resident conversation keeps this object for as long as its grain lives, so the window is held
/// compactly — one <see cref="WindowEntry"/> struct per message, inline in an array sized to the messages it holds (it
/// grows by one turn's two messages at a time), without the conversation id every <see cref="StoredMessage"/> repeats, with
/// the token usage inline and the model id shared. <see cref="Window"/> and <see cref="History"/> hand out equal
/// <see cref="StoredMessage"/> records, built when asked for.
/// </remarks>
internal sealed class ConversationContext
{
    private readonly Guid _conversationId;
    private readonly int _maxMessages;
    private readonly int _maxChars;
    private WindowEntry[] _window = [];
    private int _count;
    private long _chars;

    private ConversationContext(Guid conversationId, ConversationSnapshot snapshot, int maxMessages, int maxChars)
    {
        _conversationId = conversationId;
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
        AddAll(snapshot.RecentMessages);
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
    public Guid? LeafId => _count == 0 ? null : _window[_count - 1].Id;

    /// <summary>True when the window's newest message is the user's (a turn after it would not follow a reply).</summary>
    public bool LeafIsUser => _count > 0 && _window[_count - 1].IsUser;

    /// <summary>The window (the branch's newest messages, oldest first), as <see cref="StoredMessage"/> records built on access.</summary>
    public IReadOnlyList<StoredMessage> Window => new WindowView(this);

    /// <summary>Messages in the window.</summary>
    public int WindowCount => _count;

    /// <summary>Spare entries in the window's array (what it holds beyond its messages; a test hook for its right-sizing).</summary>
    internal int WindowSlack => _window.Length - _count;

    /// <summary>Set when the newest message is a user message still waiting for its reply: the node that stored it.</summary>
    public string? PendingNodeId { get; private set; }

    /// <summary>The pending turn's last checkpointed reply text, as loaded; null when none (only a crashed turn leaves one to load).</summary>
    public string? PartialReply { get; private set; }

    /// <summary>The pending user message, if any (the newest entry).</summary>
    public StoredMessage? PendingMessage => PendingNodeId is null || _count == 0 ? null : At(_count - 1);

    /// <summary>The context of <paramref name="conversationId"/> as loaded in <paramref name="snapshot"/>.</summary>
    public static ConversationContext From(Guid conversationId, ConversationSnapshot snapshot, EngineOptions options) =>
        new(conversationId, snapshot, options.ContextWindowMessages, options.ContextWindowChars);

    /// <summary>The index in the window of the message <paramref name="messageId"/>, searching from the newest; -1 when not in it.</summary>
    public int IndexOf(Guid messageId)
    {
        for (var i = _count - 1; i >= 0; i--)
        {
            if (_window[i].Id == messageId)
            {
                return i;
            }
        }

        return -1;
    }

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
        if (_count > 0 && _window[_count - 1].IsUser)
        {
            _window[_count - 1].Status = assistantMessage.Status;
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
        if (branch is WindowView view && view.Owner == this)
        {
            return;
        }

        var copy = branch.ToList();
        _window = [];
        _count = 0;
        _chars = 0;
        AddAll(copy);
    }

    /// <summary>
    /// Finds a turn in the window by the client message id of its user message (the reply is the next message of the
    /// branch), or of a regenerated reply (the user message is the previous one). Null when not in the window.
    /// </summary>
    public StoredTurn? FindTurn(string clientMessageId)
    {
        for (var i = 0; i < _count; i++)
        {
            if (_window[i].ClientMessageId != clientMessageId)
            {
                continue;
            }

            if (!_window[i].IsUser)
            {
                return i > 0 ? new StoredTurn(At(i - 1), At(i)) : null;
            }

            return new StoredTurn(At(i), i + 1 < _count ? At(i + 1) : null);
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
        branch ??= Window;
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

    /// <summary>The window's message at <paramref name="index"/>, as a <see cref="StoredMessage"/>.</summary>
    private StoredMessage At(int index) => _window[index].ToMessage(_conversationId);

    private void AddAll(IReadOnlyList<StoredMessage> messages)
    {
        // A loaded window or a new branch: sized for what it keeps (at most the bound) plus the next turn's two messages.
        var keep = Math.Min(messages.Count, _maxMessages);
        _window = new WindowEntry[Math.Min(keep + 2, Math.Max(_maxMessages, 1))];
        foreach (var message in messages)
        {
            Add(message);
        }
    }

    private void Add(StoredMessage message)
    {
        if (_count == _window.Length)
        {
            // Full: drop the oldest when the window is at its bound, else grow by one turn (two messages), not by doubling —
            // an idle resident conversation keeps no spare capacity beyond its next turn.
            if (_count >= _maxMessages)
            {
                _chars -= _window[0].Content.Length;
                DropOldest(1);
            }
            else
            {
                Array.Resize(ref _window, Math.Min(_count + 2, _maxMessages));
            }
        }

        _window[_count++] = new WindowEntry(message, _conversationId);
        _chars += message.Content.Length;
        var drop = 0;
        while (_count - drop > _maxMessages || (_chars > _maxChars && _count - drop > 1))
        {
            _chars -= _window[drop++].Content.Length;
        }

        DropOldest(drop);
    }

    /// <summary>Removes the <paramref name="drop"/> oldest entries (their characters already taken off <see cref="_chars"/>).</summary>
    private void DropOldest(int drop)
    {
        if (drop == 0)
        {
            return;
        }

        Array.Copy(_window, drop, _window, 0, _count - drop);
        Array.Clear(_window, _count - drop, drop);
        _count -= drop;
    }

    /// <summary>
    /// One message of the window, stored inline in the window's array: the fields of a <see cref="StoredMessage"/> less its
    /// conversation id (the context's), with the role as a flag, the token usage inline and the model id shared between
    /// messages. 120 bytes, against 176 for a record and its reference (plus 24 for its usage).
    /// </summary>
    private struct WindowEntry
    {
        public readonly Guid Id;
        public readonly Guid ParentId;
        public readonly long Sequence;
        public readonly DateTime CreatedAt;
        public readonly long Charge;
        public readonly string Content;
        public readonly string? ClientMessageId;
        public readonly string? Model;
        public readonly string? FinishReason;
        public readonly IReadOnlyList<Bots.MessageSource>? Sources;
        public readonly int TokenCount;
        public readonly int PromptTokens;
        public readonly int CompletionTokens;
        public readonly bool IsUser;
        public readonly bool HasParent;
        public readonly bool HasUsage;
        public string Status;

        public WindowEntry(StoredMessage message, Guid conversationId)
        {
            Debug.Assert(message.ConversationId == conversationId, "A window holds its own conversation's messages only.");
            Debug.Assert(message.Role is MessageRoles.User or MessageRoles.Assistant, "A window holds user and assistant messages only.");
            Id = message.Id;
            (HasParent, ParentId) = message.ParentId is { } parent ? (true, parent) : (false, Guid.Empty);
            Sequence = message.Sequence;
            CreatedAt = message.CreatedAt;
            Charge = message.Charge;
            Content = message.Content;
            ClientMessageId = message.ClientMessageId;
            Model = SharedModelIds.Share(message.Model);
            FinishReason = message.FinishReason;
            Sources = message.Sources;
            TokenCount = message.TokenCount;
            (HasUsage, PromptTokens, CompletionTokens) = message.Usage is { } usage ? (true, usage.PromptTokens, usage.CompletionTokens) : (false, 0, 0);
            IsUser = message.Role == MessageRoles.User;
            Status = message.Status;
        }

        /// <summary>The message as a record equal to the one that was added (with <see cref="Status"/> as settled since).</summary>
        public readonly StoredMessage ToMessage(Guid conversationId) => new(
            Id, conversationId, Sequence, IsUser ? MessageRoles.User : MessageRoles.Assistant, Content, Status, ClientMessageId, CreatedAt,
            TokenCount, Model, FinishReason, HasUsage ? new Bots.TokenUsage(PromptTokens, CompletionTokens) : null, Charge,
            HasParent ? ParentId : null, Sources);
    }

    /// <summary>The window seen as <see cref="StoredMessage"/> records (built on access); <see cref="MoveTo"/> recognises it as the window itself.</summary>
    private sealed class WindowView(ConversationContext owner) : IReadOnlyList<StoredMessage>
    {
        public ConversationContext Owner { get; } = owner;

        public int Count => Owner._count;

        public StoredMessage this[int index] =>
            (uint)index < (uint)Owner._count ? Owner.At(index) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<StoredMessage> GetEnumerator()
        {
            for (var i = 0; i < Owner._count; i++)
            {
                yield return Owner.At(i);
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>
    /// One string instance per model id across every resident window: ids read from the database are fresh copies per
    /// message. Bounded: past <see cref="Limit"/> distinct ids a message keeps its own copy.
    /// </summary>
    private static class SharedModelIds
    {
        private const int Limit = 1024;
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Ids = new(StringComparer.Ordinal);

        public static string? Share(string? model) =>
            model is null ? null : Ids.TryGetValue(model, out var shared) ? shared : Ids.Count < Limit ? Ids.GetOrAdd(model, model) : model;
    }
}
