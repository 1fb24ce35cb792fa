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
[JsonSerializable(typeof(RegisteredDto))]
[JsonSerializable(typeof(TransactionDto))]
[JsonSerializable(typeof(Page<TransactionDto>))]
[JsonSerializable(typeof(SessionDto))]
[JsonSerializable(typeof(List<SessionDto>))]
[JsonSerializable(typeof(ChangePasswordRequest))]
[JsonSerializable(typeof(DeleteAccountRequest))]
[JsonSerializable(typeof(Parley.Server.Admin.AdminUserDto))]
[JsonSerializable(typeof(Page<Parley.Server.Admin.AdminUserDto>))]
[JsonSerializable(typeof(Parley.Server.Admin.UpdateUserRequest))]
[JsonSerializable(typeof(Parley.Server.Admin.BalanceAdjustmentRequest))]
[JsonSerializable(typeof(Parley.Server.Admin.BalanceAdjustedDto))]
[JsonSerializable(typeof(Parley.Server.Admin.AdminStatsDto))]
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
[JsonSerializable(typeof(RegenerateRequest))]
[JsonSerializable(typeof(RegenerateResponse))]
[JsonSerializable(typeof(SetCurrentMessageRequest))]
[JsonSerializable(typeof(UserStoredEvent))]
[JsonSerializable(typeof(DeltaEvent))]
[JsonSerializable(typeof(AssistantStoredEvent))]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatResponse))]
[JsonSerializable(typeof(DiagnosticsDto))]
[JsonSerializable(typeof(Page<Parley.Server.Search.SearchResultDto>))]
[JsonSerializable(typeof(Parley.Server.Sharing.ShareDto))]
[JsonSerializable(typeof(Page<Parley.Server.Sharing.ShareDto>))]
[JsonSerializable(typeof(Parley.Server.Sharing.SharedConversationDto))]
[JsonSerializable(typeof(List<Parley.Server.Sharing.SharedMessageDto>))]
[JsonSerializable(typeof(Parley.Server.Export.ConversationExportDto))]
[JsonSerializable(typeof(Parley.Server.Export.UserExportDto))]
[JsonSerializable(typeof(Parley.Server.Import.ImportResultDto))]
[JsonSerializable(typeof(Parley.Server.Knowledge.CreateDocumentRequest))]
[JsonSerializable(typeof(Parley.Server.Knowledge.DocumentDto))]
[JsonSerializable(typeof(List<Parley.Server.Knowledge.DocumentDto>))]
[JsonSerializable(typeof(Parley.Server.Knowledge.DocumentDetailDto))]
public sealed partial class ParleyJsonContext : JsonSerializerContext;

/// <summary>
/// Reads JSON strings, refusing U+0000: PostgreSQL cannot store it in text (a send, title or login name carrying it
/// failed as a 503 or 500 there, found by the fuzz test), and no user-visible text needs it. The refusal is a
/// <see cref="JsonException"/>, so the request is a 400 naming the field.
/// </summary>
public sealed class TextWithoutNulConverter : JsonConverter<string>
{
    /// <inheritdoc />
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        return text is not null && text.Contains('\0', StringComparison.Ordinal)
            ? throw new JsonException("The character U+0000 is not allowed in text.")
            : text;
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
