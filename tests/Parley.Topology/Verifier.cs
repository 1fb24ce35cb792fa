using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;

namespace Parley.Topology;

/// <summary>A message row as PostgreSQL holds it.</summary>
internal sealed record MessageRow(Guid Id, Guid ConversationId, long Sequence, string Role, string Content, string Status, string? ClientMessageId, string? NodeId, DateTime CreatedAt);

/// <summary>
/// Checks every invariant of a multi-node run against what PostgreSQL holds (read directly with Npgsql) and what the
/// API serves, and collects each breach as a human-readable violation. The invariants:
/// <list type="bullet">
/// <item>Each conversation's messages have sequences 1..N without gaps, alternate user (odd) / assistant (even), end on an
/// assistant message, and its row has LastSequence = N and N/2 &lt;= Version &lt;= N (every commit adds a message and
/// bumps the version once; a turn takes one or two commits).</item>
/// <item>No message is pending; each user message carries the status of its reply; a completed reply echoes its message.</item>
/// <item>Every acknowledged turn is stored exactly once, with the ids and sequence the acknowledgement named (a turn sent
/// twice at once and acknowledged twice names the same stored messages both times); every stored user message is one
/// the clients sent to that conversation.</item>
/// <item>Each user's balance = initial − cost × (user messages not refunded, i.e. not failed), and never negative.</item>
/// <item>The API (through nginx) serves exactly the stored messages and balances.</item>
/// </list>
/// </summary>
internal sealed class Verifier(string connectionString, IReadOnlyList<TestUser> users, IReadOnlyList<TurnOutcome> outcomes, long cost)
{
    private readonly List<string> _violations = [];

    public IReadOnlyList<string> Violations => _violations;

    /// <summary>User messages stored although the client never saw them acknowledged (its node died, or its stream broke).</summary>
    public int StoredUnacknowledged { get; private set; }

    /// <summary>User messages stored as failed (refunded).</summary>
    public int Refunded { get; private set; }

    /// <summary>Messages in the checked conversations.</summary>
    public int Messages { get; private set; }

    /// <summary>Waits until no message is pending or <paramref name="window"/> elapsed; returns how many remain.</summary>
    public async Task<long> WaitForSettledAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + window;
        while (true)
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT count(*) FROM \"Messages\" WHERE \"Status\" = 'pending'", connection);
            var pending = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            if (pending == 0 || DateTime.UtcNow >= deadline)
            {
                return pending;
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    public async Task VerifyDatabaseAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var messages = new List<MessageRow>();
        await using (var command = new NpgsqlCommand(
            "SELECT \"Id\", \"ConversationId\", \"Sequence\", \"Role\", \"Content\", \"Status\", \"ClientMessageId\", \"NodeId\", \"CreatedAt\" " +
            "FROM \"Messages\" ORDER BY \"ConversationId\", \"Sequence\"", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                messages.Add(new MessageRow(reader.GetGuid(0), reader.GetGuid(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
                    reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7),
                    reader.GetDateTime(8)));
            }
        }

        var conversations = new Dictionary<Guid, (Guid UserId, long Version, long LastSequence)>();
        await using (var command = new NpgsqlCommand("SELECT \"Id\", \"UserId\", \"Version\", \"LastSequence\" FROM \"Conversations\"", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                conversations[reader.GetGuid(0)] = (reader.GetGuid(1), reader.GetInt64(2), reader.GetInt64(3));
            }
        }

        var balances = await ReadBalancesAsync(connection, cancellationToken);
        Messages = messages.Count;
        var byConversation = messages.GroupBy(m => m.ConversationId).ToDictionary(g => g.Key, g => g.ToList());
        var sentKeys = outcomes.GroupBy(o => o.ConversationId).ToDictionary(g => g.Key, g => g.Select(o => o.ClientMessageId).ToHashSet());
        var acknowledged = outcomes.Where(o => o.Ack is not null).Select(o => o.ClientMessageId).ToHashSet();

        foreach (var user in users)
        {
            foreach (var id in user.Conversations)
            {
                if (!conversations.TryGetValue(id, out var conversation))
                {
                    Violation($"conversation {id} is missing");
                    continue;
                }

                var rows = byConversation.GetValueOrDefault(id) ?? [];
                CheckConversation(id, conversation.Version, conversation.LastSequence, rows, sentKeys.GetValueOrDefault(id) ?? []);
                StoredUnacknowledged += rows.Count(m => m.Role == "user" && m.ClientMessageId is { } key && !acknowledged.Contains(key));
                Refunded += rows.Count(m => m.Role == "user" && m.Status == "failed");
            }

            var charged = user.Conversations.Sum(id => (byConversation.GetValueOrDefault(id) ?? []).Count(m => m.Role == "user" && m.Status != "failed"));
            var expected = user.InitialBalance - cost * charged;
            var actual = balances.GetValueOrDefault(user.Id, long.MinValue);
            if (actual != expected)
            {
                Violation($"user {user.UserName}: balance {actual}, expected {user.InitialBalance} - {cost} x {charged} charged messages = {expected}");
            }

            if (actual < 0)
            {
                Violation($"user {user.UserName}: negative balance {actual}");
            }
        }

        var rowsByKey = messages.Where(m => m.ClientMessageId is not null).GroupBy(m => m.ClientMessageId!).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var outcome in outcomes)
        {
            foreach (var ack in outcome.Acks)
            {
                CheckAcknowledged(outcome, ack, rowsByKey.GetValueOrDefault(outcome.ClientMessageId) ?? [], byConversation);
            }
        }
    }

    private void CheckConversation(Guid id, long version, long lastSequence, List<MessageRow> rows, HashSet<string> sentKeys)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (row.Sequence != i + 1)
            {
                Violation($"conversation {id}: message #{i + 1} has sequence {row.Sequence} (gap or duplicate)");
                return;
            }

            var expectedRole = row.Sequence % 2 == 1 ? "user" : "assistant";
            if (row.Role != expectedRole)
            {
                Violation($"conversation {id}: sequence {row.Sequence} is {row.Role}, expected {expectedRole} (alternation broken)");
            }

            if (row.Status == "pending")
            {
                Violation($"conversation {id}: sequence {row.Sequence} still pending (node {row.NodeId}, stored {row.CreatedAt:O})");
            }

            if (row.Role == "user")
            {
                if (row.ClientMessageId is null || !sentKeys.Contains(row.ClientMessageId))
                {
                    Violation($"conversation {id}: user message {row.Sequence} has clientMessageId '{row.ClientMessageId}', which no client sent to it");
                }

                if (row.Status != "pending" && row.NodeId is not null)
                {
                    Violation($"conversation {id}: settled user message {row.Sequence} still names node {row.NodeId}");
                }

                if (i + 1 < rows.Count)
                {
                    var reply = rows[i + 1];
                    if (reply.Status != row.Status)
                    {
                        Violation($"conversation {id}: user message {row.Sequence} is {row.Status} but its reply is {reply.Status}");
                    }

                    if (reply.Status == "completed" && reply.Content != row.Content)
                    {
                        Violation($"conversation {id}: reply {reply.Sequence} does not echo message {row.Sequence}");
                    }
                }
            }
        }

        if (rows.Count % 2 != 0)
        {
            Violation($"conversation {id}: ends on a user message without a reply (sequence {rows.Count})");
        }

        // Every commit adds at least one message and a turn (two messages) takes at most two commits.
        if (lastSequence != rows.Count || version > rows.Count || version < rows.Count / 2)
        {
            Violation($"conversation {id}: LastSequence {lastSequence} and Version {version}, but {rows.Count} messages");
        }
    }

    private void CheckAcknowledged(TurnOutcome outcome, TurnResponseDto ack, List<MessageRow> rows, Dictionary<Guid, List<MessageRow>> byConversation)
    {
        var key = outcome.ClientMessageId;
        if (rows.Count != 1)
        {
            Violation($"acknowledged turn {key}: stored {rows.Count} times");
            return;
        }

        var user = rows[0];
        if (user.ConversationId != outcome.ConversationId || user.Id != ack.UserMessage.Id || user.Sequence != ack.UserMessage.Sequence
            || user.Content != outcome.Content || ack.UserMessage.Content != outcome.Content)
        {
            Violation($"acknowledged turn {key}: acknowledged as {ack.UserMessage.Id} at {ack.UserMessage.Sequence}, stored as {user.Id} at {user.Sequence} in {user.ConversationId}");
            return;
        }

        var reply = byConversation[user.ConversationId].FirstOrDefault(m => m.Sequence == user.Sequence + 1);
        if (reply is null || reply.Id != ack.AssistantMessage.Id || reply.Content != ack.AssistantMessage.Content || reply.Status != ack.AssistantMessage.Status)
        {
            Violation($"acknowledged turn {key}: its acknowledged reply {ack.AssistantMessage.Id} ({ack.AssistantMessage.Status}) is not the stored reply {reply?.Id} ({reply?.Status})");
        }
    }

    /// <summary>Reads every conversation and balance through the API (nginx) and compares it with the database.</summary>
    public async Task VerifyApiAsync(HttpClient http, Uri baseAddress, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var balances = await ReadBalancesAsync(connection, cancellationToken);
        foreach (var user in users)
        {
            foreach (var id in user.Conversations)
            {
                var served = new List<MessageDto>();
                string? cursor = null;
                for (var page = 0; page < 50; page++)
                {
                    var query = cursor is null ? "limit=200" : $"limit=200&cursor={Uri.EscapeDataString(cursor)}";
                    var result = await GetAsync<PageDto<MessageDto>>(http, new Uri(baseAddress, $"api/conversations/{id}/messages?{query}"), user, cancellationToken);
                    served.AddRange(result.Items);
                    cursor = result.NextCursor;
                    if (cursor is null)
                    {
                        break;
                    }
                }

                var stored = await ReadConversationAsync(connection, id, cancellationToken);
                var mismatch = served.Count != stored.Count
                    ? $"{served.Count} messages served, {stored.Count} stored"
                    : served.Zip(stored).Select((pair, i) => (pair.First, pair.Second, i))
                        .Where(p => p.First.Id != p.Second.Id || p.First.Sequence != p.Second.Sequence || p.First.Role != p.Second.Role
                            || p.First.Content != p.Second.Content || p.First.Status != p.Second.Status)
                        .Select(p => $"message {p.i + 1} differs")
                        .FirstOrDefault();
                if (mismatch is not null)
                {
                    Violation($"API, conversation {id}: {mismatch}");
                }
            }

            var balance = await GetAsync<BalanceDto>(http, new Uri(baseAddress, "api/users/me/balance"), user, cancellationToken);
            if (balance.TokenBalance != balances[user.Id])
            {
                Violation($"API, user {user.UserName}: balance {balance.TokenBalance}, stored {balances[user.Id]}");
            }
        }
    }

    private static async Task<T> GetAsync<T>(HttpClient http, Uri uri, TestUser user, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<T>(Json.Options, cancellationToken))!;
    }

    private static async Task<List<MessageDto>> ReadConversationAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT \"Id\", \"Sequence\", \"Role\", \"Content\", \"Status\" FROM \"Messages\" WHERE \"ConversationId\" = @id ORDER BY \"Sequence\"", connection);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<MessageDto>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new MessageDto(reader.GetGuid(0), id, reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
        }

        return rows;
    }

    private static async Task<Dictionary<Guid, long>> ReadBalancesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT \"Id\", \"TokenBalance\" FROM \"AspNetUsers\"", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var balances = new Dictionary<Guid, long>();
        while (await reader.ReadAsync(cancellationToken))
        {
            balances[reader.GetGuid(0)] = reader.GetInt64(1);
        }

        return balances;
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private void Violation(string description)
    {
        _violations.Add(description);
    }

    /// <summary>The violations as a readable list (the first 30).</summary>
    public string Describe() =>
        string.Join('\n', _violations.Take(30).Select(v => "  - " + v))
        + (_violations.Count > 30 ? string.Create(CultureInfo.InvariantCulture, $"\n  … and {_violations.Count - 30} more") : "");
}
