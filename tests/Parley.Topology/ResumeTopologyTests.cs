using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Parley.Topology;

/// <summary>
/// A running turn followed across the cluster (issue 10): <c>GET /api/conversations/{id}/stream</c> served by a node that
/// does not host the conversation's grain replays and follows the turn; killing the grain's node mid-reply ends the turn
/// <c>failed</c> with its checkpointed text, refunded, and the follower gets that final state instead of hanging.
/// </summary>
public sealed class ResumeTopologyTests
{
    private const long InitialBalance = 1_000_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AFollowerOnAnotherNodeGetsTheTurnAndItsFailedCheckpointedEndWhenTheGrainsNodeIsKilled()
    {
        var nginxBinary = TopologyTests.RequireTools();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        deadline.CancelAfter(TimeSpan.FromMinutes(5)); // a hung follower fails the test instead of blocking the run
        var cancel = deadline.Token;

        // 16 chunks 1 s apart; a checkpoint with the first chunk 2 s or more after the last one.
        await using var topology = await Topology.StartAsync(new Dictionary<string, string>
        {
            ["Bot__Echo__ChunkDelayMs"] = "1000",
            ["Engine__CheckpointInterval"] = "00:00:02",
            ["Quota__InitialBalance"] = InitialBalance.ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
        }, nginxBinary, cancel);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var nginx = topology.Nginx.BaseAddress;
        const string password = "Topology-1!";
        var name = "resume_" + Guid.NewGuid().ToString("N")[..8];
        (await http.PostAsJsonAsync(new Uri(nginx, "api/auth/register"), new RegisterBody(name, password), Json.Options, cancel)).EnsureSuccessStatusCode();
        using var login = await http.PostAsJsonAsync(new Uri(nginx, "api/auth/login"), new LoginBody(name, password), Json.Options, cancel);
        var token = (await login.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<TokenPairDto>(Json.Options, cancel))!.AccessToken;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var created = await http.PostAsJsonAsync(new Uri(nginx, "api/conversations"), new { title = "resume" }, Json.Options, cancel);
        var conversationId = (await created.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<ConversationDto>(Json.Options, cancel))!.Id;
        var content = string.Join(' ', Enumerable.Range(1, 32).Select(i => $"word{i}"));

        // Send through node-1; the pending user message names the node whose grain runs the turn.
        using var send = new HttpRequestMessage(HttpMethod.Post, new Uri(topology.Nodes[0].BaseAddress, $"api/conversations/{conversationId}/messages"))
        {
            Content = JsonContent.Create(new SendBody(content, "resume-1"), options: Json.Options),
        };
        send.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var sent = await http.SendAsync(send, HttpCompletionOption.ResponseHeadersRead, cancel);
        var sender = new SseReader(await sent.EnsureSuccessStatusCode().Content.ReadAsStreamAsync(cancel));
        Assert.Equal("user", (await sender.NextAsync(cancel))?.Event);
        await using var database = new NpgsqlConnection(topology.ConnectionString);
        await database.OpenAsync(cancel);
        var hostId = (string)(await ScalarAsync(database,
            "SELECT \"NodeId\" FROM \"Messages\" WHERE \"ConversationId\" = @p0 AND \"Status\" = 'pending'", conversationId, cancel))!;
        var host = topology.Nodes.Single(n => n.NodeId == hostId);
        var follower = topology.Nodes.Where(n => n != host).OrderBy(n => n == topology.Nodes[0]).First(); // another node, not the sender's if it can

        // The follow request, served by a node that does not host the grain, replays the turn from its start.
        using var follow = new HttpRequestMessage(HttpMethod.Get, new Uri(follower.BaseAddress, $"api/conversations/{conversationId}/stream"));
        follow.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var followed = await http.SendAsync(follow, HttpCompletionOption.ResponseHeadersRead, cancel);
        Assert.Equal(HttpStatusCode.OK, followed.StatusCode);
        var events = new SseReader(await followed.Content.ReadAsStreamAsync(cancel));
        var first = await events.NextAsync(cancel);
        Assert.Equal(("user", "1.0"), (first?.Event, first?.Id));
        var text = new StringBuilder();
        var delta = await events.NextAsync(cancel);
        Assert.Equal("delta", delta?.Event);
        text.Append(delta!.Json.GetProperty("text").GetString());

        // Kill the grain's node as soon as a checkpoint is in the database (the next one is seconds away).
        string? checkpoint;
        while ((checkpoint = await ScalarAsync(database, "SELECT \"PartialReply\" FROM \"Conversations\" WHERE \"Id\" = @p0", conversationId, cancel) as string) is null)
        {
            await Task.Delay(20, cancel);
        }

        host.Kill();

        // The follower ends: the rest of the deltas it was sent, then the final state (never a hang: the deadline above).
        SseEvent? last = null;
        while (await events.NextAsync(cancel) is { } next)
        {
            last = next;
            if (next.Event == "delta")
            {
                text.Append(next.Json.GetProperty("text").GetString());
            }
        }

        Assert.Equal("error", last?.Event);
        Assert.Equal(InitialBalance, last!.Json.GetProperty("tokenBalance").GetInt64()); // refunded
        Assert.StartsWith(checkpoint, text.ToString(), StringComparison.Ordinal);
        Assert.True(checkpoint.Length > 0 && content.StartsWith(checkpoint, StringComparison.Ordinal) && checkpoint.Length < content.Length, checkpoint);

        // Stored: the turn failed with exactly the checkpointed text, and was refunded.
        var stored = await http.GetFromJsonAsync<PageDto<MessageDto>>(new Uri(follower.BaseAddress, $"api/conversations/{conversationId}/messages"), Json.Options, cancel);
        Assert.Equal([("user", "failed", content), ("assistant", "failed", checkpoint)], stored!.Items.Select(m => (m.Role, m.Status, m.Content)));
        var balance = await http.GetFromJsonAsync<BalanceDto>(new Uri(follower.BaseAddress, "api/users/me/balance"), Json.Options, cancel);
        Assert.Equal(InitialBalance, balance!.TokenBalance);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, Guid id, CancellationToken cancel)
    {
        await using var command = new NpgsqlCommand(sql.Replace("@p0", "@id", StringComparison.Ordinal), connection);
        command.Parameters.AddWithValue("id", id);
        var value = await command.ExecuteScalarAsync(cancel);
        return value is DBNull ? null : value;
    }

    private sealed record SseEvent(string Event, string? Id, JsonElement Json);

    /// <summary>Reads Server-Sent Events off a response body; null at the end of the stream.</summary>
    private sealed class SseReader(Stream body)
    {
        private readonly StreamReader _reader = new(body);

        public async Task<SseEvent?> NextAsync(CancellationToken cancel)
        {
            string? name = null, id = null;
            var data = new StringBuilder();
            while (await _reader.ReadLineAsync(cancel) is { } line)
            {
                if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    name = line["event:".Length..].Trim();
                }
                else if (line.StartsWith("id:", StringComparison.Ordinal))
                {
                    id = line["id:".Length..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    data.Append(line["data:".Length..].TrimStart());
                }
                else if (line.Length == 0 && name is not null)
                {
                    return new SseEvent(name, id, JsonDocument.Parse(data.ToString()).RootElement.Clone());
                }
            }

            return null;
        }
    }
}
