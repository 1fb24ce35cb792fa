namespace Parley.Engine;

/// <summary>The role of a message's author, as named by the OpenAI Chat Completions API.</summary>
public static class MessageRoles
{
    /// <summary>A message written by the user.</summary>
    public const string User = "user";

    /// <summary>A message written by the bot.</summary>
    public const string Assistant = "assistant";

    /// <summary>An instruction to the bot; never stored by Parley today, reserved for system prompts.</summary>
    public const string System = "system";
}

/// <summary>The life-cycle state of a stored message.</summary>
/// <remarks>
/// A turn is a user message at sequence <c>n</c> and its assistant reply at <c>n + 1</c> (a regenerate stores one assistant
/// message, a sibling of the reply it regenerates, committed once with its charge after the bot replied). A streamed turn stores the
/// user message <see cref="Pending"/> before the bot runs; its second commit stores the reply and sets both messages to
/// <see cref="Completed"/>, <see cref="Cancelled"/> (the client stopped the stream; the partial reply is kept) or
/// <see cref="Failed"/> (the bot failed or timed out; the turn's tokens are refunded and the reply keeps whatever text had
/// arrived). A non-streamed turn (<see cref="ConversationClient.SendAndWaitAsync"/>) with the echo bot is committed once,
/// both messages <see cref="Completed"/>, after the bot replied; if the bot fails or the client leaves first, nothing is
/// stored or charged. With a real model or per-token quota (<see cref="Bots.BotSettings.StoreBeforeReply"/>) it is
/// committed in two, like a streamed turn.
/// </remarks>
public static class MessageStatuses
{
    /// <summary>The user message is stored and its reply is being generated.</summary>
    public const string Pending = "pending";

    /// <summary>The turn finished normally.</summary>
    public const string Completed = "completed";

    /// <summary>The client stopped the turn; the assistant message holds what was generated until then.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The bot failed or timed out; the turn was refunded.</summary>
    public const string Failed = "failed";
}

/// <summary>A message as stored in the database.</summary>
/// <param name="Id">Message id (UUID v7, time-ordered).</param>
/// <param name="ConversationId">The conversation the message belongs to.</param>
/// <param name="Sequence">1-based, contiguous and strictly increasing in the order the conversation's messages were stored
/// (it orders storage and paging; the visible thread is the path of <paramref name="ParentId"/>s).</param>
/// <param name="Role"><see cref="MessageRoles.User"/> or <see cref="MessageRoles.Assistant"/>.</param>
/// <param name="Content">The text, at most <see cref="EngineOptions.MaxContentLength"/> characters for user messages.</param>
/// <param name="Status">One of <see cref="MessageStatuses"/>.</param>
/// <param name="ClientMessageId">The client's idempotency key of the user message, if it sent one.</param>
/// <param name="CreatedAt">When the message was stored (UTC).</param>
/// <param name="TokenCount">Tokens of <paramref name="Content"/> (Bots.TiktokenCounter), counted once when stored; 0 for rows stored before counts existed.</param>
/// <param name="Model">Assistant messages: the model that wrote it.</param>
/// <param name="FinishReason">Assistant messages: <c>stop</c>, <c>length</c>, <c>cancelled</c> or <c>error</c> (<see cref="Bots.FinishReasons"/>).</param>
/// <param name="Usage">Assistant messages: the turn's prompt and completion tokens, from the provider or counted.</param>
/// <param name="Charge">User messages: tokens the turn costs the user now (reserved at accept, settled when the reply is stored; 0 once refunded).</param>
/// <param name="ParentId">The message this one answers or follows: the previous message of its branch; null for a first
/// message (a root). Messages with the same parent are siblings (an edit, a regenerated reply).</param>
/// <param name="Sources">Assistant messages: the chunks of the user's documents its prompt carried, best first; null when none.</param>
[GenerateSerializer, Immutable]
public sealed record StoredMessage(
    Guid Id,
    Guid ConversationId,
    long Sequence,
    string Role,
    string Content,
    string Status,
    string? ClientMessageId,
    DateTime CreatedAt,
    int TokenCount = 0,
    string? Model = null,
    string? FinishReason = null,
    Bots.TokenUsage? Usage = null,
    long Charge = 0,
    Guid? ParentId = null,
    IReadOnlyList<Bots.MessageSource>? Sources = null);

/// <summary>A user's request to add a turn to a conversation.</summary>
/// <param name="UserId">The authenticated user; must own the conversation, else the turn fails with <see cref="TurnError.NotFound"/>.</param>
/// <param name="ConversationId">The conversation.</param>
/// <param name="Content">The user's text: 1 to <see cref="EngineOptions.MaxContentLength"/> characters, not only whitespace.</param>
/// <param name="ClientMessageId">Optional idempotency key (at most 100 characters): repeating it returns the original turn.</param>
/// <param name="Parent">Where the new user message goes: <see cref="TurnParent.Current"/> (after the conversation's
/// current message), <see cref="TurnParent.Root"/> (a new first message) or after <paramref name="ParentId"/>.</param>
/// <param name="ParentId">With <see cref="TurnParent.Message"/>: an assistant message of the conversation, else the turn fails
/// with <see cref="TurnError.InvalidContent"/> on <c>parentId</c>.</param>
/// <param name="RegenerateOf">Set for a regenerate: the assistant message to write a new sibling of, from the same context
/// (<paramref name="Content"/> and the parent are then ignored). It must be an assistant message of the conversation, else
/// the turn fails with <see cref="TurnError.NotFound"/>.</param>
[GenerateSerializer, Immutable]
public sealed record TurnRequest(
    Guid UserId, Guid ConversationId, string Content, string? ClientMessageId = null,
    TurnParent Parent = TurnParent.Current, Guid? ParentId = null, Guid? RegenerateOf = null);

/// <summary>Where a turn's user message goes in the conversation's tree.</summary>
[GenerateSerializer]
public enum TurnParent
{
    /// <summary>After the conversation's current message (the leaf of the branch the user is on).</summary>
    Current,

    /// <summary>A new first message (an edit of the first message): no parent.</summary>
    Root,

    /// <summary>After <see cref="TurnRequest.ParentId"/>.</summary>
    Message,
}

/// <summary>Why a turn did not complete.</summary>
[GenerateSerializer]
public enum TurnError
{
    /// <summary>The conversation does not exist or belongs to another user (HTTP 404).</summary>
    NotFound,

    /// <summary>The user's token balance is below the cost of a message (HTTP 402). Nothing was stored or charged.</summary>
    InsufficientBalance,

    /// <summary>The conversation's mailbox is full (HTTP 429). Nothing was stored or charged.</summary>
    QueueFull,

    /// <summary>The content is empty or too long (HTTP 400). Nothing was stored or charged.</summary>
    InvalidContent,

    /// <summary>The client message id was already used for a different content (HTTP 409).</summary>
    ClientMessageIdReused,

    /// <summary>The bot failed (HTTP 502). A turn whose user message was stored is stored as failed, with the partial reply, and refunded; otherwise nothing is stored or charged.</summary>
    BotFailed,

    /// <summary>The database could not be written or another node holds the conversation too long (HTTP 503). Nothing was charged.</summary>
    Unavailable,

    /// <summary>The client went away before the turn started. Nothing was stored or charged.</summary>
    Cancelled,

    /// <summary>The model did not start replying within <c>Bot:FirstTokenTimeout</c>, or its reply took longer than
    /// <see cref="EngineOptions.TurnTimeout"/> (HTTP 504). Stored and refunded like <see cref="BotFailed"/>.</summary>
    BotTimedOut,
}

/// <summary>One step of a turn, in the order the engine produces them.</summary>
/// <remarks>
/// A successful turn yields <see cref="UserMessageStored"/>, zero or more <see cref="AssistantDelta"/> and one
/// <see cref="AssistantCompleted"/>. A turn rejected before its user message was stored yields only
/// <see cref="TurnFailed"/>; one that failed afterwards yields <see cref="UserMessageStored"/>, perhaps deltas,
/// then <see cref="TurnFailed"/> with <see cref="TurnError.BotFailed"/>.
/// </remarks>
[GenerateSerializer, Immutable]
public abstract record TurnEvent
{
    /// <summary>Orders the event within its conversation, <c>{userMessageSequence}.{n}</c> (see <see cref="TurnBuffer"/>);
    /// null for events of a turn whose user message was not stored (rejections, replays, single-commit turns).</summary>
    [Id(0)]
    public string? EventId { get; init; }
}

/// <summary>The user message is durably stored (and charged); sent before the bot runs.</summary>
/// <param name="Message">The stored user message.</param>
/// <param name="TokenBalance">The user's token balance after the charge.</param>
/// <param name="Replayed">True when the turn is the stored result of an earlier request with the same client message id.</param>
[GenerateSerializer, Immutable]
public sealed record UserMessageStored(StoredMessage Message, long TokenBalance, bool Replayed = false) : TurnEvent;

/// <summary>A chunk of the assistant's reply as the bot streams it.</summary>
/// <param name="Text">The chunk's text; concatenating every chunk gives the reply.</param>
[GenerateSerializer, Immutable]
public sealed record AssistantDelta(string Text) : TurnEvent;

/// <summary>The assistant's reply is durably stored; the turn is acknowledged.</summary>
/// <param name="Message">The stored assistant message.</param>
/// <param name="TokenBalance">The user's token balance after the turn.</param>
[GenerateSerializer, Immutable]
public sealed record AssistantCompleted(StoredMessage Message, long TokenBalance) : TurnEvent;

/// <summary>The turn failed; see <see cref="Error"/> for what was stored and charged.</summary>
/// <param name="Error">The reason.</param>
/// <param name="Detail">A human-readable explanation, safe to show to the user.</param>
/// <param name="TokenBalance">The balance after any refund, when known.</param>
/// <param name="Field">The request field at fault (camelCase, as in the request body): <see cref="ContentField"/> for a
/// message that is empty, too long or over the model's budget, <c>clientMessageId</c> for a bad or reused key,
/// <c>parentId</c> for a parent that is not an assistant message of the conversation; null when no field is at fault.</param>
[GenerateSerializer, Immutable]
public sealed record TurnFailed(TurnError Error, string Detail, long? TokenBalance = null, string? Field = null) : TurnEvent
{
    /// <summary>The field of the message content.</summary>
    public const string ContentField = "content";

    /// <summary>The field of the idempotency key.</summary>
    public const string ClientMessageIdField = "clientMessageId";

    /// <summary>A 400 on <paramref name="field"/> (<see cref="TurnError.InvalidContent"/>).</summary>
    public static TurnFailed Invalid(string field, string detail) => new(TurnError.InvalidContent, detail, Field: field);
}
