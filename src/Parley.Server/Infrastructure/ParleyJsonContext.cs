using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Server.Accounts;
using Parley.Server.Conversations;
using Parley.Server.Users;

namespace Parley.Server.Infrastructure;

/// <summary>
/// Source-generated JSON metadata for every request and response body (web defaults: camelCase, case-insensitive
/// reading), so the hot path does no reflection.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RegisterRequest))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(RefreshRequest))]
[JsonSerializable(typeof(TokenPair))]
[JsonSerializable(typeof(UserDto))]
[JsonSerializable(typeof(BalanceDto))]
[JsonSerializable(typeof(ConversationDto))]
[JsonSerializable(typeof(Page<ConversationDto>))]
[JsonSerializable(typeof(MessageDto))]
[JsonSerializable(typeof(Page<MessageDto>))]
[JsonSerializable(typeof(CreateConversationRequest))]
[JsonSerializable(typeof(UpdateConversationRequest))]
[JsonSerializable(typeof(Parley.Server.Models.ModelListDto))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(TurnResponse))]
[JsonSerializable(typeof(UserStoredEvent))]
[JsonSerializable(typeof(DeltaEvent))]
[JsonSerializable(typeof(AssistantStoredEvent))]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatResponse))]
[JsonSerializable(typeof(DiagnosticsDto))]
public sealed partial class ParleyJsonContext : JsonSerializerContext;
