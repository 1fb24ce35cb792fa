using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Parley.Server.Conversations;

/// <summary>The limits of a conversation's settings, one place for the validation attributes, the handlers and the database model.</summary>
public static class ConversationRules
{
    /// <summary>Longest title, characters.</summary>
    public const int MaxTitleLength = 200;

    /// <summary>Longest system prompt, characters.</summary>
    public const int MaxSystemPromptLength = 8000;

    /// <summary>Longest model id, characters.</summary>
    public const int MaxModelLength = 100;

    /// <summary>Longest client message id, characters.</summary>
    public const int MaxClientMessageIdLength = 100;

    /// <summary>The error of a title that is too long.</summary>
    public const string TitleTooLong = "The title must be at most 200 characters.";

    /// <summary>The error of a client message id of the wrong length.</summary>
    public const string ClientMessageIdLength = "A clientMessageId must be 1 to 100 characters.";

    /// <summary>The error of a system prompt that is too long.</summary>
    public const string SystemPromptTooLong = "The system prompt must be at most 8000 characters.";
}

/// <summary>Body of <c>POST /api/conversations</c>.</summary>
/// <param name="Title">Optional title, at most 200 characters (<see cref="ConversationRules.MaxTitleLength"/>).</param>
/// <param name="Model">Optional model id from <c>GET /api/models</c> (400 on <c>model</c> when unknown); default <c>Bot:DefaultModel</c>.</param>
/// <param name="SystemPrompt">Optional system prompt, at most 8,000 characters; absent: <c>Bot:SystemPrompt</c>; empty: none.</param>
/// <param name="UseDocuments">Run the retrieval stage over the user's documents before each reply (default false).</param>
public sealed record CreateConversationRequest(
    [property: StringLength(ConversationRules.MaxTitleLength, ErrorMessage = ConversationRules.TitleTooLong)] string? Title = null,
    string? Model = null,
    [property: StringLength(ConversationRules.MaxSystemPromptLength, ErrorMessage = ConversationRules.SystemPromptTooLong)] string? SystemPrompt = null,
    bool? UseDocuments = null);

/// <summary>Body of <c>PATCH /api/conversations/{id}</c>: the fields to change (absent or null ones stay as they are; at least one).</summary>
/// <param name="Title">The new title, 1–200 characters.</param>
/// <param name="Model">The model of the next turns, an id from <c>GET /api/models</c>.</param>
/// <param name="SystemPrompt">The system prompt of the next turns, at most 8,000 characters; empty for none.</param>
/// <param name="Pinned">Pin (listed first) or unpin.</param>
/// <param name="Archived">Archive (left out of the list unless <c>?archived=true</c>) or restore.</param>
/// <param name="UseDocuments">Turn the retrieval stage over the user's documents on or off for the next turns.</param>
public sealed record UpdateConversationRequest(
    [property: StringLength(ConversationRules.MaxTitleLength, ErrorMessage = ConversationRules.TitleTooLong)] string? Title = null,
    string? Model = null,
    [property: StringLength(ConversationRules.MaxSystemPromptLength, ErrorMessage = ConversationRules.SystemPromptTooLong)] string? SystemPrompt = null,
    bool? Pinned = null,
    bool? Archived = null,
    bool? UseDocuments = null);

/// <summary>Body of <c>POST /api/conversations/{id}/messages</c>.</summary>
/// <param name="Content">The message, 1–32,000 characters (<c>Engine:MaxContentLength</c>), not only whitespace.</param>
/// <param name="ClientMessageId">Optional idempotency key (1–100 characters): a repeated send returns the original turn, uncharged.</param>
public sealed record SendMessageRequest(
    [property: Required(ErrorMessage = "The message content is required.")] string? Content,
    [property: StringLength(ConversationRules.MaxClientMessageIdLength, MinimumLength = 1, ErrorMessage = ConversationRules.ClientMessageIdLength)]
    string? ClientMessageId = null)
{
    private Guid? _parentId;

    /// <summary>
    /// The message the new one follows: absent, the conversation's current message; an assistant message of the
    /// conversation; or null for a new first message. Sending after the parent of an earlier user message is an edit (a new
    /// sibling of it). Anything else is a 400 on <c>parentId</c>.
    /// </summary>
    public Guid? ParentId
    {
        get => _parentId;
        set => (_parentId, HasParentId) = (value, true); // a setter, not init: the JSON reader calls it only for a present member
    }

    /// <summary>True when the body named <see cref="ParentId"/> (even as null).</summary>
    [JsonIgnore]
    public bool HasParentId { get; private set; }
}

/// <summary>Body of <c>POST /api/conversations/{id}/messages/{messageId}/regenerate</c> (optional).</summary>
/// <param name="ClientMessageId">Optional idempotency key (1–100 characters): a repeated regenerate returns the reply it stored, uncharged.</param>
public sealed record RegenerateRequest(
    [property: StringLength(ConversationRules.MaxClientMessageIdLength, MinimumLength = 1, ErrorMessage = ConversationRules.ClientMessageIdLength)]
    string? ClientMessageId = null);

/// <summary>Body of <c>PUT /api/conversations/{id}/current</c>.</summary>
/// <param name="MessageId">A message of the conversation; the current message becomes its newest descendant along the most recently created children.</param>
public sealed record SetCurrentMessageRequest([property: Required(ErrorMessage = "The messageId is required.")] Guid? MessageId);
