using System.Text.Json;

namespace Parley.Topology;

// The slices of Parley's HTTP contract this test reads (src/Parley.Server: AccountsApi, ConversationsApi, UsersApi,
// Hosting.Diagnostics). Declared here rather than borrowed from the server so the test checks the wire format.

internal static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}

internal sealed record RegisterBody(string UserName, string Password);

internal sealed record LoginBody(string UserName, string Password);

internal sealed record TokenPairDto(string AccessToken, string RefreshToken);

internal sealed record ConversationDto(Guid Id);

internal sealed record SendBody(string Content, string ClientMessageId);

internal sealed record MessageDto(Guid Id, Guid ConversationId, long Sequence, string Role, string Content, string Status);

internal sealed record TurnResponseDto(MessageDto UserMessage, MessageDto AssistantMessage, long TokenBalance);

internal sealed record UserStoredEventDto(MessageDto UserMessage, long TokenBalance);

internal sealed record AssistantStoredEventDto(MessageDto AssistantMessage, long TokenBalance);

internal sealed record PageDto<T>(IReadOnlyList<T> Items, string? NextCursor);

internal sealed record BalanceDto(long TokenBalance, long CostPerMessage);

internal sealed record EngineStatisticsDto(long TurnsCompleted, long TurnsFailed, long Conflicts, long Recovered, long Replayed);

internal sealed record DiagnosticsDto(EngineStatisticsDto Engine);
