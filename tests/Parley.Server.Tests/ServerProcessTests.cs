using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Parley.Server.Tests.Infrastructure;
using Parley.Testing;

namespace Parley.Server.Tests;

/// <summary>The real server as a process: crashed with SIGKILL mid-traffic, then restarted over the same data.</summary>
public abstract class ServerProcessTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    private const long InitialBalance = 1_000_000;

    /// <summary>Generous: a cold start of the server takes seconds, and far longer on a machine shared with other test runs.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task EveryAcknowledgedTurnSurvivesKill9AndNoTurnIsLeftPending()
    {
        var database = await Fixture.CreateDatabaseAsync();
        var environment = Environment(database);
        // No checkpoint can be written during these short replies, however slow the machine: an interrupted turn is
        // then answered again at restart (the checkpointed path is the next test's).
        environment["Engine__CheckpointInterval"] = "00:10:00";
        TokenPairBody tokens;
        var writers = new List<Writer>();
        string output;
        await using (var server = await ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel))
        {
            tokens = await RegisterAsync(server.BaseAddress);
            using var client = Client(server.BaseAddress, tokens.AccessToken);
            for (var i = 0; i < 4; i++)
            {
                writers.Add(new Writer(client, (await client.CreateConversationAsync($"crash {i}")).Id, Streaming: i % 2 == 1));
            }

            // Two writers send JSON turns back to back, two stream them (a streamed turn's user message is stored
            // before the bot runs). Each reply is 4 chunks 200 ms apart. Once 4 turns are acknowledged, kill the server
            // just after a stream's first chunk: the rest of that reply (~0.6 s) is the margin for the kill to land
            // mid-reply however loaded the machine is.
            var killNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            foreach (var writer in writers)
            {
                writer.Progressed = () =>
                {
                    if (writers.Sum(w => w.AcknowledgedCount) >= 4 && writers.Any(w => w.JustStartedReply))
                    {
                        killNow.TrySetResult();
                    }
                };
            }

            var running = writers.Select(w => Task.Run(w.RunAsync, Cancel)).ToList();
            await killNow.Task.WaitAsync(TimeSpan.FromSeconds(90), Cancel);
            server.Kill();
            output = server.Output;
            await Task.WhenAll(running);
        }

        var acknowledged = writers.SelectMany(w => w.Acknowledged).ToList();
        var interrupted = writers.Where(w => w.Interrupted is not null).Select(w => w.Interrupted!).ToList();
        Assert.True(acknowledged.Count >= 4, $"Only {acknowledged.Count} turns were acknowledged before the kill. Server output:\n{output}");
        Assert.True(interrupted.Count >= 1, "The kill was meant to land while a streamed reply was being generated.");

        await using var restarted = await ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel);
        var ready = restarted.ReadyAfter;
        using var after = Client(restarted.BaseAddress, tokens.AccessToken);
        // The restarted node settles its pending turns before it serves (StartupRecovery): nothing is pending now.
        var stored = new Dictionary<Guid, List<MessageBody>>();
        foreach (var writer in writers)
        {
            stored[writer.ConversationId] = await after.GetAllMessagesAsync(writer.ConversationId);
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{acknowledged.Count} turns acknowledged and {interrupted.Count} interrupted mid-reply by the kill; restarted in {ready.TotalSeconds:0.0} s, " +
            "stored user messages: " +
            string.Join(", ", stored.Values.SelectMany(m => m).Where(m => m.Role == "user").GroupBy(m => m.Status).Select(g => $"{g.Count()} {g.Key}")));

        // Acknowledged turns are there exactly as acknowledged.
        foreach (var (user, assistant) in acknowledged)
        {
            Assert.Contains(user, stored[user.ConversationId]);
            Assert.Contains(assistant, stored[user.ConversationId]);
        }

        // A turn cut short after its user message was stored is kept and answered at restart (the echo bot cannot fail).
        foreach (var user in interrupted)
        {
            var messages = stored[user.ConversationId];
            var kept = Assert.Single(messages, m => m.Id == user.Id);
            Assert.Equal((user.Sequence, user.Content, "completed"), (kept.Sequence, kept.Content, kept.Status));
        }

        // Every conversation is whole: contiguous, alternating, every user message answered by its echo, nothing pending.
        var charged = 0;
        foreach (var messages in stored.Values)
        {
            Assert.Equal(Enumerable.Range(1, messages.Count).Select(n => (long)n), messages.Select(m => m.Sequence));
            for (var i = 0; i < messages.Count; i += 2)
            {
                var (user, reply) = (messages[i], messages[i + 1]);
                Assert.Equal(("user", "assistant"), (user.Role, reply.Role));
                Assert.Equal(("completed", "completed"), (user.Status, reply.Status));
                Assert.Equal(user.Content, reply.Content);
                charged++;
            }
        }

        Assert.Equal(InitialBalance - (100 * charged), await after.GetBalanceAsync());

        // A graceful stop (SIGTERM) exits cleanly.
        Assert.Equal(0, await restarted.StopAsync());
    }

    [Fact]
    public async Task AKill9MidReplyLeavesTheCheckpointedTextStoredFailedAndRefunded()
    {
        var database = await Fixture.CreateDatabaseAsync();
        var environment = Environment(database);
        // 16 chunks 1 s apart; a checkpoint goes with the first chunk 3 s or more after the last one. The kill follows the
        // first checkpoint seen in the database, seconds before a second one can be written.
        environment["Bot__Echo__ChunkDelayMs"] = "1000";
        environment["Engine__CheckpointInterval"] = "00:00:03";
        var content = string.Join(' ', Enumerable.Range(1, 32).Select(i => $"word{i}"));
        TokenPairBody tokens;
        Guid conversationId;
        string checkpoint;
        await using (var server = await ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel))
        {
            tokens = await RegisterAsync(server.BaseAddress);
            using var client = Client(server.BaseAddress, tokens.AccessToken);
            conversationId = (await client.CreateConversationAsync("checkpointed")).Id;
            using var stream = await client.PostMessageStreamingAsync(conversationId, content, Cancel);
            var events = stream.ReadEventsAsync(Cancel).GetAsyncEnumerator(Cancel);
            Assert.True(await events.MoveNextAsync());
            Assert.Equal("user", events.Current.Type);
            var clock = Stopwatch.StartNew();
            string? written;
            while ((written = await database.ScalarAsync("SELECT \"PartialReply\" FROM \"Conversations\" WHERE \"Id\" = @p0", database.Id(conversationId)) as string) is null)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"No checkpoint was written within 12 s. Server output:\n{server.Output}");
                await Task.Delay(20, Cancel);
            }

            checkpoint = written;
            server.Kill();
            await events.DisposeAsync();
        }

        await using var restarted = await ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel);
        using var after = Client(restarted.BaseAddress, tokens.AccessToken);
        // The restarted node settles its pending turns before it serves (StartupRecovery).
        var messages = await after.GetAllMessagesAsync(conversationId);

        Assert.True(checkpoint.Length > 0 && checkpoint.Length < content.Length && content.StartsWith(checkpoint, StringComparison.Ordinal),
            $"The checkpoint is not a part of the echo: \"{checkpoint}\"");
        Assert.Equal([("user", "failed", content), ("assistant", "failed", checkpoint)], messages.Select(m => (m.Role, m.Status, m.Content)));
        Assert.Equal(InitialBalance, await after.GetBalanceAsync()); // refunded
        Assert.Null(await database.ScalarAsync("SELECT \"PartialReply\" FROM \"Conversations\" WHERE \"Id\" = @p0", database.Id(conversationId)));
    }

    [Fact]
    public async Task TheServerRefusesToStartWithABadSetting()
    {
        var database = await Fixture.CreateDatabaseAsync();
        var environment = Environment(database);
        environment["Jwt__SigningKey"] = "too-short";

        var failure = await Assert.ThrowsAsync<ServerExitedException>(() => ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel));

        Assert.NotEqual(0, failure.ExitCode);
        Assert.Contains("Jwt:SigningKey must be base64 of at least 256 bits (32 bytes).", failure.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RateLimits:AuthPerMinute", "0")]
    [InlineData("RateLimits:MessagesPerMinute", "-1")]
    [InlineData("Jwt:RefreshReuseGraceSeconds", "-1")]
    [InlineData("Engine:MailboxCapacity", "0")]
    [InlineData("Engine:CheckpointInterval", "00:00:00.050")]
    [InlineData("Engine:CommitWriters", "-1")]
    [InlineData("Engine:CommitWriters", "33")]
    [InlineData("Quota:CostPerMessage", "-5")]
    [InlineData("ForwardedHeaders:KnownProxies:0", "not-an-address")]
    public async Task AnOutOfRangeSettingStopsTheServerAtStartNamingTheKey(string key, string value)
    {
        var database = await Fixture.CreateDatabaseAsync();
        var environment = Environment(database);
        environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;

        var failure = await Assert.ThrowsAsync<ServerExitedException>(() => ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel));

        Assert.NotEqual(0, failure.ExitCode);
        var named = key.EndsWith(":0", StringComparison.Ordinal) ? key[..^2] : key; // a list setting is named without its index
        Assert.Contains(named, failure.Output, StringComparison.Ordinal);
    }

    /// <summary>Sends turns to one conversation until the server is gone, remembering what was acknowledged.</summary>
    private sealed record Writer(HttpClient Client, Guid ConversationId, bool Streaming)
    {
        private int _deltas;
        private int _acknowledged;

        /// <summary>Turns acknowledged: a 200, or an event stream that reached its <c>assistant</c> event.</summary>
        public List<(MessageBody User, MessageBody Assistant)> Acknowledged { get; } = [];

        /// <summary>The user message of a streamed turn whose <c>user</c> event arrived but whose reply never did.</summary>
        public MessageBody? Interrupted { get; private set; }

        /// <summary>How many turns <see cref="Acknowledged"/> holds (safe to read from another thread).</summary>
        public int AcknowledgedCount => Volatile.Read(ref _acknowledged);

        /// <summary>True when the running streamed turn has received its first delta and no other.</summary>
        public bool JustStartedReply => Volatile.Read(ref _deltas) == 1;

        /// <summary>Called after each acknowledged turn and each delta (on the writer's thread).</summary>
        public Action Progressed { get; set; } = () => { };

        public async Task RunAsync()
        {
            for (var n = 0; ; n++)
            {
                var content = $"turn {n} of {ConversationId}";
                MessageBody? accepted = null;
                try
                {
                    if (!Streaming)
                    {
                        using var response = await Client.PostMessageAsync(ConversationId, content);
                        if (response.StatusCode != HttpStatusCode.OK)
                        {
                            return;
                        }

                        var turn = await response.Content.ReadFromJsonAsync<TurnBody>(Json.Strict, Cancel)
                            ?? throw new InvalidOperationException("An acknowledged turn without a body.");
                        Acknowledged.Add((turn.UserMessage, turn.AssistantMessage));
                        Interlocked.Increment(ref _acknowledged);
                        Progressed();
                        continue;
                    }

                    using var stream = await Client.PostMessageStreamingAsync(ConversationId, content, Cancel);
                    if (stream.StatusCode != HttpStatusCode.OK)
                    {
                        return;
                    }

                    await foreach (var item in stream.ReadEventsAsync(Cancel))
                    {
                        switch (item.Type)
                        {
                            case "user":
                                accepted = item.As<UserEventBody>().UserMessage;
                                break;
                            case "delta":
                                Interlocked.Increment(ref _deltas);
                                Progressed();
                                break;
                            case "assistant":
                                Acknowledged.Add((accepted! with { Status = "completed" }, item.As<AssistantEventBody>().AssistantMessage));
                                Interlocked.Increment(ref _acknowledged);
                                Volatile.Write(ref _deltas, 0);
                                accepted = null;
                                Progressed();
                                break;
                        }
                    }

                    Volatile.Write(ref _deltas, 0);
                    if (accepted is not null)
                    {
                        return; // the stream ended without its reply
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException)
                {
                    Interrupted = accepted; // the server is gone: this turn was never acknowledged
                    return;
                }
            }
        }
    }

    private static Dictionary<string, string?> Environment(TestDatabase database)
    {
        var environment = database.Environment();
        environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        environment["RateLimits__Enabled"] = "false";
        environment["Jwt__SigningKey"] = TokenForge.RandomKey();
        environment["Engine__NodeId"] = "process-node";
        environment["Bot__Echo__ChunkDelayMs"] = "200";
        environment["Quota__InitialBalance"] = InitialBalance.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["Logging__LogLevel__Default"] = "Warning";
        return environment;
    }

    private static async Task<TokenPairBody> RegisterAsync(Uri server)
    {
        using var http = new HttpClient { BaseAddress = server };
        var userName = ParleyFactory.UniqueName();
        using var registered = await http.PostAsJsonAsync("/api/auth/register", new { userName, password = ParleyFactory.Password }, Cancel);
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        using var login = await http.PostAsJsonAsync("/api/auth/login", new { userName, password = ParleyFactory.Password }, Cancel);
        return await login.ReadAsync<TokenPairBody>();
    }

    private static HttpClient Client(Uri server, string accessToken) =>
        new(new BearerTokenHandler(accessToken) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = server };
}

public sealed class ServerProcessOnSqlite(SqliteFixture fixture) : ServerProcessTests<SqliteFixture>(fixture);

public sealed class ServerProcessOnPostgreSql(PostgreSqlFixture fixture) : ServerProcessTests<PostgreSqlFixture>(fixture);
