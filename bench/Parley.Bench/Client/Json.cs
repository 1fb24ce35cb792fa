using System.Text.Json;
using System.Text.Json.Serialization;

namespace Parley.Bench.Client;

/// <summary>Body of <c>POST /api/auth/register</c>.</summary>
internal sealed record RegisterRequest(string UserName, string? Email, string Password);

/// <summary>Body of <c>POST /api/auth/login</c>.</summary>
internal sealed record LoginRequest(string UserName, string Password);

/// <summary>Response of <c>POST /api/auth/login</c>.</summary>
internal sealed record TokenPair(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken);

/// <summary>The part of <c>GET /api/users/me</c> the benchmark reads.</summary>
internal sealed record UserDto(Guid Id, string UserName, long TokenBalance);

/// <summary>Body of <c>POST /api/conversations</c>.</summary>
internal sealed record CreateConversationRequest(string? Title);

/// <summary>The part of a conversation the benchmark reads.</summary>
internal sealed record ConversationDto(Guid Id, string Title, long MessageCount);

/// <summary>Body of <c>POST /api/conversations/{id}/messages</c>.</summary>
internal sealed record SendMessageRequest(string Content, string? ClientMessageId);

/// <summary>A stored message.</summary>
internal sealed record MessageDto(Guid Id, Guid ConversationId, long Sequence, string Role, string Content, string Status);

/// <summary>Response of a non-streaming send.</summary>
internal sealed record TurnResponse(MessageDto UserMessage, MessageDto AssistantMessage, long TokenBalance);

/// <summary>A page of messages.</summary>
internal sealed record MessagePage(IReadOnlyList<MessageDto> Items, string? NextCursor);

/// <summary>The engine counters of <c>GET /diagnostics/engine</c>.</summary>
internal sealed record EngineStatistics(
    int ResidentConversations,
    long ContextHits,
    long ContextMisses,
    long Evictions,
    long TurnsCompleted,
    long TurnsFailed,
    long TurnsRejected,
    long Conflicts);

/// <summary><c>GET /diagnostics/engine</c>.</summary>
internal sealed record EngineDiagnostics(
    EngineStatistics Engine,
    long CommitBatches,
    long CommitOperations,
    long WorkingSetBytes,
    long ManagedBytes,
    long HeapSizeBytes);

/// <summary>System.Text.Json source generation for every body the benchmark sends or reads (camelCase, as the API).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RegisterRequest))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(TokenPair))]
[JsonSerializable(typeof(UserDto))]
[JsonSerializable(typeof(CreateConversationRequest))]
[JsonSerializable(typeof(ConversationDto))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(TurnResponse))]
[JsonSerializable(typeof(MessagePage))]
[JsonSerializable(typeof(EngineDiagnostics))]
internal sealed partial class BenchJson : JsonSerializerContext;
