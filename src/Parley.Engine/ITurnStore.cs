namespace Parley.Engine;

/// <summary>
/// The engine's persistence path: reads a conversation's context and durably commits the two halves of every turn.
/// </summary>
/// <remarks>
/// Every commit is checked against the conversation's <c>Version</c> (optimistic concurrency): it succeeds only if no
/// other writer — another node, or a recovery of an orphaned turn — committed to the conversation since the caller's
/// snapshot. A task returned by a commit method completes only after the database transaction holding it is durable.
/// </remarks>
public interface ITurnStore
{
    /// <summary>Reads a conversation's state and its newest messages, as of one consistent version.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="maxMessages">Most messages to return (the newest ones).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The snapshot, or <see langword="null"/> when the conversation does not exist.</returns>
    Task<ConversationSnapshot?> LoadAsync(Guid conversationId, int maxMessages, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the branch that ends at <paramref name="leafId"/>: the leaf and its ancestors (parent by parent), at most
    /// <paramref name="maxMessages"/> of them, oldest first.
    /// </summary>
    /// <returns>The path, root (or the oldest kept ancestor) first; empty when the message is not in the conversation.</returns>
    Task<IReadOnlyList<StoredMessage>> LoadPathAsync(Guid conversationId, Guid leafId, int maxMessages, CancellationToken cancellationToken);

    /// <summary>Finds the turn whose message carries <paramref name="clientMessageId"/>.</summary>
    /// <returns>The user message and its reply (null while the turn is pending) — for a regenerate's key, the regenerated
    /// reply's parent and the reply —, or <see langword="null"/> if none.</returns>
    Task<StoredTurn?> FindTurnAsync(Guid conversationId, string clientMessageId, CancellationToken cancellationToken);

    /// <summary>Reads a user's token balance; <see langword="null"/> when the user does not exist.</summary>
    Task<long?> GetBalanceAsync(Guid userId, CancellationToken cancellationToken);

    /// <summary>Lists conversations with a pending user message stored by <paramref name="nodeId"/> (turns cut short by a crash).</summary>
    Task<IReadOnlyList<Guid>> FindPendingConversationsAsync(string nodeId, CancellationToken cancellationToken);

    /// <summary>First half of a turn: charges the user and stores the pending user message, atomically.</summary>
    Task<AcceptOutcome> AcceptAsync(AcceptTurn command, CancellationToken cancellationToken);

    /// <summary>
    /// A whole turn in one commit: charges the user and stores <paramref name="command"/>'s user message and
    /// <paramref name="assistantMessage"/> (at the next sequence) atomically, under one version increment.
    /// </summary>
    Task<AcceptOutcome> CommitTurnAsync(AcceptTurn command, StoredMessage assistantMessage, CancellationToken cancellationToken);

    /// <summary>
    /// A regenerate in one commit: charges the user <see cref="RegenerateTurn.Cost"/> and stores the new assistant message,
    /// atomically, under one version increment; the reply becomes the conversation's current message.
    /// </summary>
    Task<AcceptOutcome> CommitRegeneratedAsync(RegenerateTurn command, CancellationToken cancellationToken);

    /// <summary>Second half of a turn: stores the assistant message, settles the user message's status and refunds if asked,
    /// and clears the turn's checkpoint, atomically.</summary>
    Task<CompleteOutcome> CompleteAsync(CompleteTurn command, CancellationToken cancellationToken);

    /// <summary>
    /// Keeps the pending turn's reply so far (<see cref="ConversationSnapshot.PartialReply"/>), fenced like every commit:
    /// written only while the conversation is still at <see cref="TurnCheckpoint.ExpectedVersion"/>. It does not change
    /// the version, so it never stands in the way of the turn's own commits.
    /// </summary>
    /// <returns>False when the version moved (the turn was completed or settled by someone else); nothing was written.</returns>
    Task<bool> CheckpointAsync(TurnCheckpoint command, CancellationToken cancellationToken);
}

/// <summary>A conversation's state as read by <see cref="ITurnStore.LoadAsync"/>.</summary>
/// <param name="UserId">The owner.</param>
/// <param name="Version">Incremented by every commit; the expected version of the next one.</param>
/// <param name="LastSequence">Sequence of the newest message (0 when empty).</param>
/// <param name="Title">The title, null until set or derived from the first message.</param>
/// <param name="RecentMessages">The branch the next turn continues, oldest first, its newest messages with sequence ≤
/// <paramref name="LastSequence"/>: the path to the pending user message while a turn is pending, else the path to the
/// current message.</param>
/// <param name="PendingNodeId">When the newest message is a user message without reply: the node that stored it.</param>
/// <param name="Model">The conversation's model id; null for the default model.</param>
/// <param name="SystemPrompt">The conversation's system prompt; null for <c>Bot:SystemPrompt</c>, empty for none.</param>
/// <param name="PartialReply">When a turn is pending: the reply text its last checkpoint kept (<see cref="ITurnStore.CheckpointAsync"/>); null when none was written.</param>
/// <param name="CurrentMessageId">The leaf of the branch the user is on; null when the conversation is empty.</param>
/// <param name="UseDocuments">Turns run the retrieval stage over the owner's documents (<see cref="Bots.IPromptAugmenter"/>).</param>
public sealed record ConversationSnapshot(
    Guid UserId,
    long Version,
    long LastSequence,
    string? Title,
    IReadOnlyList<StoredMessage> RecentMessages,
    string? PendingNodeId,
    string? Model = null,
    string? SystemPrompt = null,
    string? PartialReply = null,
    Guid? CurrentMessageId = null,
    bool UseDocuments = false);

/// <summary>A stored turn: the user message and, once the turn finished, its reply.</summary>
public sealed record StoredTurn(StoredMessage UserMessage, StoredMessage? AssistantMessage);

/// <summary>Arguments of <see cref="ITurnStore.AcceptAsync"/>.</summary>
/// <param name="UserId">The user to charge; must own the conversation.</param>
/// <param name="ExpectedVersion">The conversation version the caller's context was read at.</param>
/// <param name="UserMessage">The user message to store, with status <see cref="MessageStatuses.Pending"/> and sequence <c>LastSequence + 1</c>.</param>
/// <param name="Cost">Tokens to deduct; the deduction happens only if the balance covers it.</param>
/// <param name="NodeId">This node's id, stored with the pending message for crash recovery.</param>
/// <param name="AutoTitle">Title to set if the conversation has none.</param>
public sealed record AcceptTurn(Guid UserId, long ExpectedVersion, StoredMessage UserMessage, long Cost, string NodeId, string? AutoTitle);

/// <summary>Arguments of <see cref="ITurnStore.CommitRegeneratedAsync"/>.</summary>
/// <param name="UserId">The user to charge; must own the conversation.</param>
/// <param name="ExpectedVersion">The conversation version the caller's context was read at.</param>
/// <param name="AssistantMessage">The new reply, at sequence <c>LastSequence + 1</c>, its parent the user message it answers;
/// its client message id (the regenerate's idempotency key) is unique in the conversation.</param>
/// <param name="Cost">Tokens to deduct; the deduction happens only if the balance covers it.</param>
public sealed record RegenerateTurn(Guid UserId, long ExpectedVersion, StoredMessage AssistantMessage, long Cost);

/// <summary>Arguments of <see cref="ITurnStore.CompleteAsync"/>.</summary>
/// <param name="UserId">The owner, refunded <paramref name="Refund"/> tokens.</param>
/// <param name="ExpectedVersion">The conversation version after the turn's accept commit.</param>
/// <param name="AssistantMessage">The reply to store at the user message's sequence + 1.</param>
/// <param name="Refund">Tokens to give back — all of the user message's charge for a failed turn, the unused reservation
/// in <see cref="Bots.QuotaMode.PerToken"/> — or 0. Also deducted from the user message's stored charge.</param>
/// <param name="UserMessageId">The user message refunded, named by the refund's ledger row (the reply's id when null).</param>
public sealed record CompleteTurn(Guid UserId, long ExpectedVersion, StoredMessage AssistantMessage, long Refund, Guid? UserMessageId = null);

/// <summary>Arguments of <see cref="ITurnStore.CheckpointAsync"/>.</summary>
/// <param name="UserId">The owner (whose row the writer locks first, as for every commit).</param>
/// <param name="ConversationId">The conversation whose pending turn is streaming.</param>
/// <param name="ExpectedVersion">The conversation version after the turn's accept commit.</param>
/// <param name="PartialReply">The reply's text so far.</param>
public sealed record TurnCheckpoint(Guid UserId, Guid ConversationId, long ExpectedVersion, string PartialReply);

/// <summary>How an accept commit ended.</summary>
public enum AcceptStatus
{
    /// <summary>Charged and stored.</summary>
    Accepted,

    /// <summary>The conversation changed (or vanished) since the caller's snapshot; nothing was written.</summary>
    VersionConflict,

    /// <summary>The balance does not cover the cost; nothing was written.</summary>
    InsufficientBalance,

    /// <summary>The client message id is already stored in this conversation; nothing was written.</summary>
    DuplicateClientMessageId,
}

/// <summary>Result of <see cref="ITurnStore.AcceptAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="TokenBalance">The balance after the charge when <see cref="AcceptStatus.Accepted"/>, else 0.</param>
public readonly record struct AcceptOutcome(AcceptStatus Status, long TokenBalance);

/// <summary>Result of <see cref="ITurnStore.CompleteAsync"/>.</summary>
/// <param name="Completed">False when the conversation's version moved (another writer settled the turn); nothing was written.</param>
/// <param name="TokenBalance">The balance after the refund, when a refund was made.</param>
public readonly record struct CompleteOutcome(bool Completed, long? TokenBalance);
