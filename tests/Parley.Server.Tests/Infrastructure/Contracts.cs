using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Server.Tests.Infrastructure;

// The API's JSON contract as the tests read it. Deliberately not the server's own DTO types: these records pin the
// documented wire format (camelCase names, every property present), so a rename on the server fails a test.

public sealed record UserBody(Guid Id, string UserName, string? Email, long TokenBalance, DateTimeOffset CreatedAt);

public sealed record TokenPairBody(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken);

public sealed record BalanceBody(long TokenBalance, long CostPerMessage);

public sealed record ConversationBody(
    Guid Id, string Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long MessageCount, string Model, string? SystemPrompt,
    ActiveTurnBody? ActiveTurn, Guid? CurrentMessageId, bool Pinned, bool Archived, bool UseDocuments);

public sealed record ActiveTurnBody(Guid UserMessageId, DateTimeOffset StartedAt);

public sealed record MessageBody(
    Guid Id, Guid ConversationId, long Sequence, string Role, string Content, string Status, DateTimeOffset CreatedAt,
    string? Model, string? FinishReason, UsageBody? Usage, Guid? ParentId, IReadOnlyList<SourceBody>? Sources);

/// <summary>A message as <c>GET …/messages</c> lists it: with the ids of its siblings (null elsewhere).</summary>
public sealed record ListedMessageBody(
    Guid Id, Guid ConversationId, long Sequence, string Role, string Content, string Status, DateTimeOffset CreatedAt,
    string? Model, string? FinishReason, UsageBody? Usage, Guid? ParentId, IReadOnlyList<Guid> SiblingIds);

public sealed record UsageBody(int PromptTokens, int CompletionTokens);

public sealed record ModelBody(string Id, int ContextTokens, int MaxOutputTokens, bool IsDefault);

public sealed record ModelListBody(IReadOnlyList<ModelBody> Items);

public sealed record PageBody<T>(IReadOnlyList<T> Items, string? NextCursor);

public sealed record TurnBody(MessageBody UserMessage, MessageBody AssistantMessage, long TokenBalance);

public sealed record ChatBody(Guid ConversationId, MessageBody UserMessage, MessageBody AssistantMessage, long TokenBalance);

public sealed record UserEventBody(MessageBody UserMessage, long TokenBalance);

public sealed record DeltaEventBody(string Text);

public sealed record AssistantEventBody(MessageBody AssistantMessage, long TokenBalance);

public sealed record RegenerateBody(MessageBody AssistantMessage, long TokenBalance);

/// <summary>RFC 9457 problem details with Parley's extensions.</summary>
public sealed record ProblemBody(
    string? Type,
    string? Title,
    int? Status,
    string? Detail,
    string? TraceId,
    Dictionary<string, string[]>? Errors,
    long? TokenBalance)
{
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>JSON settings that hold the server to its documented wire format.</summary>
public static class Json
{
    /// <summary>camelCase, case-sensitive, every constructor parameter required.</summary>
    public static JsonSerializerOptions Strict { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>For problem details, whose members are all optional.</summary>
    public static JsonSerializerOptions Lenient { get; } = new(JsonSerializerDefaults.Web) { PropertyNameCaseInsensitive = false };
}

public sealed record RegisteredBody(Guid Id, string UserName, string? Email, long TokenBalance, DateTimeOffset CreatedAt, string Role, TokenPairBody Tokens);

public sealed record TransactionBody(Guid Id, string Kind, long Amount, long BalanceAfter, Guid? MessageId, string? Reason, DateTimeOffset CreatedAt);

public sealed record SessionBody(Guid Id, string? UserAgent, DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt, bool Current);

public sealed record AdminUserBody(
    Guid Id, string UserName, string? Email, string Role, long TokenBalance, bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset? LastActiveAt, long MessageCount);

public sealed record BalanceAdjustedBody(Guid UserId, long TokenBalance);

public sealed record RetentionRunBody(DateTimeOffset FinishedAt, long Deleted);

public sealed record AdminStatsBody(
    long Users, long ActiveUsers, long Conversations, long Messages, long Turns24h, long TokensCharged24h, RetentionRunBody? LastRetentionRun);
