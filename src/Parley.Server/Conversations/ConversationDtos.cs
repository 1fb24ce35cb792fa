using Parley.Engine;
using Parley.Engine.Bots;
using Parley.Server.Data;

namespace Parley.Server.Conversations;

/// <summary>A conversation as the API shows it.</summary>
/// <param name="Id">Conversation id.</param>
/// <param name="Title">Title: as given, else the start of the first message, else "New conversation".</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="UpdatedAt">Time of the last message (UTC).</param>
/// <param name="MessageCount">Messages stored (user and assistant).</param>
/// <param name="Model">The model that answers (an id of <c>GET /api/models</c>; the default model when the conversation names
/// none or one no longer configured).</param>
/// <param name="SystemPrompt">The conversation's own system prompt; null when it uses <c>Bot:SystemPrompt</c>, empty for none.</param>
/// <param name="ActiveTurn">The turn whose reply is being generated (its user message is stored <c>pending</c>); follow it with
/// <c>GET /api/conversations/{id}/stream</c>. Null when none.</param>
/// <param name="CurrentMessageId">The leaf of the branch the user is on (<c>PUT /api/conversations/{id}/current</c> switches
/// it; every turn moves it to its newest message); null while the conversation is empty.</param>
/// <param name="Pinned">Pinned conversations are listed first.</param>
/// <param name="Archived">Archived conversations are listed only with <c>?archived=true</c>.</param>
/// <param name="UseDocuments">Each turn runs the retrieval stage: excerpts of the user's documents go into the prompt.</param>
public sealed record ConversationDto(
    Guid Id, string Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long MessageCount, string Model, string? SystemPrompt,
    ActiveTurnDto? ActiveTurn = null, Guid? CurrentMessageId = null, bool Pinned = false, bool Archived = false, bool UseDocuments = false)
{
    /// <summary>The title shown for a conversation that has none yet.</summary>
    public const string DefaultTitle = "New conversation";

    internal static ConversationDto From(Conversation c, BotSettings bot, ActiveTurnDto? activeTurn = null) => new(
        c.Id, c.Title ?? DefaultTitle, Utc(c.CreatedAt), Utc(c.UpdatedAt), c.LastSequence, bot.Resolve(c.Model).Id, c.SystemPrompt, activeTurn,
        c.CurrentMessageId, c.Pinned, c.Archived, c.UseDocuments);

    internal static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}

/// <summary>A conversation's running turn.</summary>
/// <param name="UserMessageId">The turn's stored user message.</param>
/// <param name="StartedAt">When the user message was stored (UTC).</param>
public sealed record ActiveTurnDto(Guid UserMessageId, DateTimeOffset StartedAt);

/// <summary>A message as the API shows it.</summary>
/// <param name="Id">Message id.</param>
/// <param name="ConversationId">Its conversation.</param>
/// <param name="Sequence">1-based, contiguous and strictly increasing in the order the conversation's messages were stored
/// (it orders storage and paging; the thread is the path of <paramref name="ParentId"/>s).</param>
/// <param name="Role"><c>user</c> or <c>assistant</c>.</param>
/// <param name="Content">The text.</param>
/// <param name="Status"><c>pending</c>, <c>completed</c>, <c>cancelled</c> (client stopped the stream) or <c>failed</c> (bot failed; refunded).</param>
/// <param name="CreatedAt">When it was stored (UTC).</param>
/// <param name="Model">Assistant messages: the model that wrote it; null for user messages.</param>
/// <param name="FinishReason">Assistant messages: <c>stop</c>, <c>length</c> (cut at the model's MaxOutputTokens), <c>cancelled</c>
/// (stopped; partial) or <c>error</c> (the provider failed; partial, refunded); null for user messages.</param>
/// <param name="Usage">Assistant messages: the turn's tokens, from the provider when it reported them, else counted; null for user messages.</param>
/// <param name="ParentId">The previous message of its branch; null for a first message.</param>
/// <param name="SiblingIds">The messages with the same parent (itself included), oldest first: the versions "&lt; 2/3 &gt;"
/// moves between. Filled by <c>GET /api/conversations/{id}/messages</c>; null in turn responses and stream events.</param>
/// <param name="Sources">Assistant messages of a conversation with <c>useDocuments</c>: the chunks of the user's documents its
/// prompt carried, best first (<c>[{documentId, title, chunkIndex}]</c>); null when none.</param>
public sealed record MessageDto(
    Guid Id, Guid ConversationId, long Sequence, string Role, string Content, string Status, DateTimeOffset CreatedAt,
    string? Model, string? FinishReason, UsageDto? Usage, Guid? ParentId = null, IReadOnlyList<Guid>? SiblingIds = null,
    IReadOnlyList<MessageSource>? Sources = null)
{
    internal static MessageDto From(StoredMessage m) =>
        new(m.Id, m.ConversationId, m.Sequence, m.Role, m.Content, m.Status, ConversationDto.Utc(m.CreatedAt),
            m.Model, m.FinishReason, m.Usage is { } u ? new UsageDto(u.PromptTokens, u.CompletionTokens) : null, m.ParentId, Sources: m.Sources);

    internal static MessageDto From(Message m, IReadOnlyList<Guid>? siblingIds = null) =>
        new(m.Id, m.ConversationId, m.Sequence, m.Role, m.Content, m.Status, ConversationDto.Utc(m.CreatedAt),
            m.Model, m.FinishReason, m.PromptTokens is { } p ? new UsageDto(p, m.CompletionTokens ?? 0) : null, m.ParentId, siblingIds,
            MessageSource.FromJson(m.Sources));
}

/// <summary>Tokens of one turn.</summary>
/// <param name="PromptTokens">Tokens the model read: system prompt, history and the user message.</param>
/// <param name="CompletionTokens">Tokens the model wrote.</param>
public sealed record UsageDto(int PromptTokens, int CompletionTokens);

/// <summary>A page of a list.</summary>
/// <param name="Items">The items of this page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> to get the next page; null on the last page.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);
