using System.ComponentModel.DataAnnotations;

namespace Parley.Server.Conversations;

/// <summary>The limits of a conversation's settings, one place for the validation attributes, the handlers and the database model.</summary>
public static class ConversationRules
{
    /// <summary>Longest title, characters.</summary>
    public const int MaxTitleLength = 200;

    /// <summary>Longest system prompt, characters.</summary>
    public const int MaxSystemPromptLength = 8000;

    /// <summary>Longest client message id, characters.</summary>
    public const int MaxClientMessageIdLength = 100;

    /// <summary>The error of a title that is too long.</summary>
    public const string TitleTooLong = "The title must be at most 200 characters.";

    /// <summary>The error of a system prompt that is too long.</summary>
    public const string SystemPromptTooLong = "The system prompt must be at most 8000 characters.";
}

/// <summary>Body of <c>POST /api/conversations</c>.</summary>
/// <param name="Title">Optional title, at most 200 characters (<see cref="ConversationRules.MaxTitleLength"/>).</param>
/// <param name="Model">Optional model id from <c>GET /api/models</c> (400 on <c>model</c> when unknown); default <c>Bot:DefaultModel</c>.</param>
/// <param name="SystemPrompt">Optional system prompt, at most 8,000 characters; absent: <c>Bot:SystemPrompt</c>; empty: none.</param>
public sealed record CreateConversationRequest(
    [property: StringLength(ConversationRules.MaxTitleLength, ErrorMessage = ConversationRules.TitleTooLong)] string? Title = null,
    string? Model = null,
    [property: StringLength(ConversationRules.MaxSystemPromptLength, ErrorMessage = ConversationRules.SystemPromptTooLong)] string? SystemPrompt = null);

/// <summary>Body of <c>PATCH /api/conversations/{id}</c>: the fields to change (absent or null ones stay as they are; at least one).</summary>
/// <param name="Title">The new title, 1–200 characters.</param>
/// <param name="Model">The model of the next turns, an id from <c>GET /api/models</c>.</param>
/// <param name="SystemPrompt">The system prompt of the next turns, at most 8,000 characters; empty for none.</param>
public sealed record UpdateConversationRequest(
    [property: StringLength(ConversationRules.MaxTitleLength, ErrorMessage = ConversationRules.TitleTooLong)] string? Title = null,
    string? Model = null,
    [property: StringLength(ConversationRules.MaxSystemPromptLength, ErrorMessage = ConversationRules.SystemPromptTooLong)] string? SystemPrompt = null);

/// <summary>Body of <c>POST /api/conversations/{id}/messages</c>.</summary>
/// <param name="Content">The message, 1–32,000 characters (<c>Engine:MaxContentLength</c>), not only whitespace.</param>
/// <param name="ClientMessageId">Optional idempotency key (1–100 characters): a repeated send returns the original turn, uncharged.</param>
public sealed record SendMessageRequest(
    [property: Required(ErrorMessage = "The message content is required.")] string? Content,
    [property: StringLength(ConversationRules.MaxClientMessageIdLength, MinimumLength = 1, ErrorMessage = "A clientMessageId must be 1 to 100 characters.")]
    string? ClientMessageId = null);
