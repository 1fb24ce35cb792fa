using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Models;
using Parley.Server.Tests.Infrastructure;
using OpenAIReply = Parley.Server.Tests.Infrastructure.FakeModelServer.OpenAI;

namespace Parley.Server.Tests.Models;

/// <summary>
/// Real model providers through Parley's HTTP API, against <see cref="FakeModelServer"/>: the OpenAI-compatible provider
/// with llama.cpp's quirks and injected faults, the Ollama provider, stop, the token window, PerToken quota and titles.
/// Each test asserts what was stored, its status, usage, and what the user was charged or refunded.
/// </summary>
public abstract class ModelProviderTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture), IAsyncLifetime
    where TFixture : ParleyFixture
{
    private const string ApiKey = "sk-test-secret-never-shown-4711";
    private FakeModelServer _fake = null!;

    public async ValueTask InitializeAsync() => _fake = await FakeModelServer.StartAsync();

    public async ValueTask DisposeAsync() => await _fake.DisposeAsync();

    [Fact]
    public async Task ModelsEndpointListsTheConfiguredModelsAndTheDefault()
    {
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();

        using var response = await client.GetAsync("/api/models", Cancel);
        var models = await response.ReadAsync<ModelListBody>();

        Assert.Equal(
            [new ModelBody("fake-large", 8192, 256, true), new ModelBody("fake-small", 300, 200, false)],
            models.Items);
    }

    [Fact]
    public async Task AnUnknownModelIsRejectedOnTheModelField()
    {
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();

        using var created = await client.PostAsJsonAsync("/api/conversations", new { model = "gpt-nonexistent" }, Cancel);
        await created.AssertProblemAsync(HttpStatusCode.BadRequest, "model");
        var conversation = await client.CreateConversationAsync();
        using var patched = await client.PatchAsJsonAsync($"/api/conversations/{conversation.Id}", new { model = "gpt-nonexistent" }, Cancel);
        await patched.AssertProblemAsync(HttpStatusCode.BadRequest, "model");

        Assert.Equal("fake-large", (await client.GetConversationAsync(conversation.Id)).Model);
    }

    [Fact]
    public async Task TheConversationsModelAndSystemPromptReachTheProvider()
    {
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        using var created = await client.PostAsJsonAsync("/api/conversations", new { model = "fake-small", systemPrompt = "Answer in French." }, Cancel);
        var conversation = await created.ReadAsync<ConversationBody>();
        Assert.Equal(("fake-small", "Answer in French."), (conversation.Model, conversation.SystemPrompt));

        await client.SendAsync(conversation.Id, "Hello");
        using var patched = await client.PatchAsJsonAsync($"/api/conversations/{conversation.Id}", new { model = "fake-large", systemPrompt = "Be brief." }, Cancel);
        Assert.Equal(("fake-large", "Be brief."), ((await patched.ReadAsync<ConversationBody>()).Model, (await client.GetConversationAsync(conversation.Id)).SystemPrompt));
        await client.SendAsync(conversation.Id, "Again");

        var (first, second) = (_fake.Requests[0].Body, _fake.Requests[1].Body);
        Assert.Equal(("fake-small", "system", "Answer in French."), (Str(first["model"]), Str(first["messages"]![0]!["role"]), Str(first["messages"]![0]!["content"])));
        Assert.Equal(("fake-large", "system", "Be brief."), (Str(second["model"]), Str(second["messages"]![0]!["role"]), Str(second["messages"]![0]!["content"])));
        Assert.Equal(["system", "user", "assistant", "user"], second["messages"]!.AsArray().Select(m => Str(m!["role"])));
    }

    [Fact]
    public async Task AStreamedReplyWithLlamaCppQuirksIsStoredWithTheProvidersUsage()
    {
        _fake.Then(OpenAIReply.Stream([
            OpenAIReply.KeepAlive, OpenAIReply.Role(), OpenAIReply.Content("Hello "), OpenAIReply.KeepAlive, OpenAIReply.Content("world"),
            OpenAIReply.Finish("stop"), OpenAIReply.Usage(21, 2), OpenAIReply.Done]));
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageStreamingAsync(conversation.Id, "Say hello", Cancel);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal(["user", "delta", "delta", "assistant"], events.Select(e => e.Type));
        Assert.Equal(["Hello ", "world"], events[1..3].Select(e => e.As<DeltaEventBody>().Text));
        var reply = events[^1].As<AssistantEventBody>();
        AssertReply(reply.AssistantMessage, "Hello world", "completed", "stop", new UsageBody(21, 2));
        Assert.Equal(3900, reply.TokenBalance);
        var stored = await client.GetAllMessagesAsync(conversation.Id);
        Assert.Equal(reply.AssistantMessage, stored[1]);
        Assert.Equal(("completed", null, null), (stored[0].Status, stored[0].FinishReason, stored[0].Usage));

        var request = _fake.Requests.Single();
        Assert.Equal("Bearer " + ApiKey, request.Authorization);
        Assert.True(request.Stream);
        Assert.True(request.Body["stream_options"]?["include_usage"]?.GetValue<bool>(), "usage is requested in the stream");
        Assert.Equal(256, (request.Body["max_completion_tokens"] ?? request.Body["max_tokens"])!.GetValue<int>());
        Assert.Equal("You are terse.", Str(request.Body["messages"]![0]!["content"]));
        Assert.DoesNotContain(factory.Logs.Entries, e => e.Contains(ApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AReplyCutAtTheOutputLimitIsStoredWithFinishReasonLengthAndCountedUsage()
    {
        _fake.Then(OpenAIReply.Stream([OpenAIReply.Role(), OpenAIReply.Content("A long answer that"), OpenAIReply.Finish("length"), OpenAIReply.Done]));
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        var turn = await client.SendAsync(conversation.Id, "Tell me everything");

        Assert.Equal(("A long answer that", "completed", "length", "fake-large"),
            (turn.AssistantMessage.Content, turn.AssistantMessage.Status, turn.AssistantMessage.FinishReason, turn.AssistantMessage.Model));
        // No usage from the provider: counted with the tokenizer (4 tokens of reply; the prompt has the system prompt and the message).
        Assert.Equal(4, turn.AssistantMessage.Usage!.CompletionTokens);
        Assert.InRange(turn.AssistantMessage.Usage.PromptTokens, 10, 30);
        Assert.Equal(3900, turn.TokenBalance);
    }

    [Fact]
    public async Task AnErrorEventMidStreamFailsTheTurnKeepsThePartialReplyAndRefunds()
    {
        _fake.Then(OpenAIReply.Stream([OpenAIReply.Role(), OpenAIReply.Content("Partial "), OpenAIReply.Error("llama_decode failed: out of memory")]));
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageStreamingAsync(conversation.Id, "Try it", Cancel);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal(["user", "delta", "error"], events.Select(e => e.Type));
        var error = events[^1].Data.Deserialize<ProblemBody>(Json.Lenient)!;
        Assert.Equal((502, 4000L), (error.Status, error.TokenBalance));
        Assert.Contains("ended the reply before it was finished", error.Detail, StringComparison.Ordinal);
        await AssertFailedTurnAsync(client, conversation.Id, "Partial ", 4000);
    }

    [Fact]
    public async Task AJsonErrorSayingTheRequestIsTooLongIs400OnContentAndRefunded()
    {
        _fake.Then(OpenAIReply.JsonError(400, "the request exceeds the available context size, try increasing it", "exceed_context_size_error"));
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, "A message the server finds too long");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "content");
        await AssertFailedTurnAsync(client, conversation.Id, "", 4000);
        Assert.Single(_fake.Requests); // a 400 is not retried
    }

    [Fact]
    public async Task AProviderRejectionIs502InWordsWithoutTheKey()
    {
        _fake.Then(OpenAIReply.JsonError(401, $"Incorrect API key provided: {ApiKey}", "invalid_api_key"));
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, "Hello");

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadGateway);
        Assert.Contains("credentials (HTTP 401)", problem.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, await response.Content.ReadAsStringAsync(Cancel), StringComparison.Ordinal);
        await AssertFailedTurnAsync(client, conversation.Id, "", 4000);
        Assert.Contains(factory.Logs.Entries, e => e.Contains("credentials (HTTP 401)", StringComparison.Ordinal));
        Assert.DoesNotContain(factory.Logs.Entries, e => e.Contains(ApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A429IsRetriedBeforeTheFirstChunk()
    {
        _fake.Then(OpenAIReply.JsonError(429, "Too many requests", "rate_limit_exceeded", retryAfter: "0"));
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        var turn = await client.SendAsync(conversation.Id, "Hello");

        AssertReply(turn.AssistantMessage, "Hello from the fake", "completed", "stop", new UsageBody(10, 4));
        Assert.Equal(2, _fake.Requests.Count);
        Assert.Equal(3900, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task AProviderThatKeepsFailingIs502AfterTheRetries()
    {
        var unavailable = OpenAIReply.JsonError(503, "Loading model", "unavailable_error");
        _fake.Then(unavailable, unavailable, unavailable, unavailable);
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, "Hello");

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadGateway);
        Assert.Contains("internal error (HTTP 503)", problem.Detail, StringComparison.Ordinal);
        Assert.Equal(4, _fake.Requests.Count); // the first attempt and Bot:RetryAttempts (3) retries
        await AssertFailedTurnAsync(client, conversation.Id, "", 4000);
    }

    [Fact]
    public async Task AfterTenFailuresTheCircuitOpensAndTheNextTurnFailsWithoutCallingTheProvider()
    {
        // The circuit breaker (BotSetup: failure ratio 0.5 over at least 10 requests in 30 s) opens after ten 503s.
        var unavailable = OpenAIReply.JsonError(503, "Loading model", "unavailable_error");
        _fake.Then([.. Enumerable.Repeat(unavailable, 10)]);
        await using var factory = await StartOpenAIAsync(new() { ["Bot:RetryAttempts"] = "0", ["Bot:CircuitBreakDuration"] = "00:05:00" });
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        for (var i = 0; i < 10; i++)
        {
            using var failed = await client.PostMessageAsync(conversation.Id, $"Hello {i}");
            var problem = await failed.AssertProblemAsync(HttpStatusCode.BadGateway);
            Assert.Contains("internal error (HTTP 503)", problem.Detail, StringComparison.Ordinal);
        }

        using var response = await client.PostMessageAsync(conversation.Id, "Hello again");

        var paused = await response.AssertProblemAsync(HttpStatusCode.BadGateway);
        Assert.Contains("pauses requests to it", paused.Detail, StringComparison.Ordinal);
        Assert.Equal(10, _fake.Requests.Count);
        Assert.Equal(4000, await client.GetBalanceAsync()); // every failed turn refunded
    }

    [Fact]
    public async Task ADroppedConnectionFailsTheTurnKeepsThePartialReplyAndRefunds()
    {
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stream = OpenAIReply.Stream([OpenAIReply.Role(), OpenAIReply.Content("Half an ")]);
        _fake.Then(async (request, http) =>
        {
            await stream(request, http);
            await delivered.Task; // the chunk reached the client: from here on, no retry may happen
            http.Abort();
        });
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageStreamingAsync(conversation.Id, "Hello", Cancel);
        var events = response.ReadEventsAsync(Cancel).GetAsyncEnumerator(Cancel);
        Assert.True(await events.MoveNextAsync());
        Assert.True(await events.MoveNextAsync());
        Assert.Equal(("delta", "Half an "), (events.Current.Type, events.Current.As<DeltaEventBody>().Text));
        delivered.SetResult();
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("error", events.Current.Type);
        var error = events.Current.Data.Deserialize<ProblemBody>(Json.Lenient)!;
        Assert.Equal((502, 4000L), (error.Status, error.TokenBalance));
        Assert.Contains("connection to the model provider broke", error.Detail, StringComparison.Ordinal);
        Assert.False(await events.MoveNextAsync());
        await events.DisposeAsync();

        await AssertFailedTurnAsync(client, conversation.Id, "Half an ", 4000);
        Assert.Single(_fake.Requests); // the first chunk had arrived: no retry
    }

    [Fact]
    public async Task NoFirstChunkWithinTheFirstTokenTimeoutIs504AndTheRequestIsClosed()
    {
        _fake.Then((request, _) => request.Aborted.Task);
        await using var factory = await StartOpenAIAsync(new() { ["Bot:FirstTokenTimeout"] = "00:00:01" });
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, "Hello");

        var problem = await response.AssertProblemAsync(HttpStatusCode.GatewayTimeout);
        Assert.Contains("did not start replying within 1 seconds", problem.Detail, StringComparison.Ordinal);
        await (await _fake.NextRequestAsync()).Aborted.Task.WaitAsync(TimeSpan.FromSeconds(5), Cancel);
        await AssertFailedTurnAsync(client, conversation.Id, "", 4000);
    }

    [Fact]
    public async Task StopFromAnotherTabCancelsTheUpstreamRequestWithinOneSecondAndKeepsThePartialReply()
    {
        var started = OpenAIReply.Stream([OpenAIReply.Role(), OpenAIReply.Content("Thinking about ")]);
        _fake.Then(async (request, http) =>
        {
            await started(request, http);
            await request.Aborted.Task; // a model still generating
        });
        await using var factory = await StartOpenAIAsync();
        var user = await factory.CreateUserAsync();
        using var otherTab = factory.CreateClient(user.Tokens.AccessToken);
        var conversation = await user.Client.CreateConversationAsync();

        using var response = await user.Client.PostMessageStreamingAsync(conversation.Id, "Think hard", Cancel);
        var events = response.ReadEventsAsync(Cancel).GetAsyncEnumerator(Cancel);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("user", events.Current.Type);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("delta", events.Current.Type);

        using var stop = await otherTab.PostAsync($"/api/conversations/{conversation.Id}/stop", null, Cancel);
        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        await _fake.Requests.Single().Aborted.Task.WaitAsync(TimeSpan.FromSeconds(1), Cancel);

        Assert.True(await events.MoveNextAsync());
        Assert.Equal("assistant", events.Current.Type);
        var reply = events.Current.As<AssistantEventBody>();
        Assert.Equal(("Thinking about ", "cancelled", "cancelled"), (reply.AssistantMessage.Content, reply.AssistantMessage.Status, reply.AssistantMessage.FinishReason));
        Assert.False(await events.MoveNextAsync());
        await events.DisposeAsync();
        var stored = await user.Client.GetAllMessagesAsync(conversation.Id);
        Assert.Equal(["cancelled", "cancelled"], stored.Select(m => m.Status));
        Assert.Equal(3900, await user.Client.GetBalanceAsync()); // PerMessage: a stopped turn costs its message
    }

    [Fact]
    public async Task StoppingSomeoneElsesConversationIs404()
    {
        await using var factory = await StartOpenAIAsync();
        var owner = await factory.CreateUserClientAsync();
        var stranger = await factory.CreateUserClientAsync();
        var conversation = await owner.CreateConversationAsync();

        using var stop = await stranger.PostAsync($"/api/conversations/{conversation.Id}/stop", null, Cancel);

        await stop.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AMessageTooLargeForTheModelsWindowIs400OnContentBeforeAnyCharge()
    {
        await using var factory = await StartOpenAIAsync();
        var client = await factory.CreateUserClientAsync();
        using var created = await client.PostAsJsonAsync("/api/conversations", new { model = "fake-small" }, Cancel);
        var conversation = await created.ReadAsync<ConversationBody>();

        using var response = await client.PostMessageAsync(conversation.Id, string.Join(' ', Enumerable.Repeat("token", 150)));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "content");
        Assert.Equal(4000, await client.GetBalanceAsync());
        Assert.Empty(await client.GetAllMessagesAsync(conversation.Id));
        Assert.Empty(_fake.Requests);
    }

    [Fact]
    public async Task PerTokenReservesThePromptAndMaxOutputThenSettlesToTheReportedUsage()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.Then(OpenAIReply.Stream(
            [OpenAIReply.Role(), OpenAIReply.Content("Fine."), OpenAIReply.Finish("stop"), OpenAIReply.Usage(20, 5), OpenAIReply.Done],
            (_, part) => part == 0 ? gate.Task : Task.CompletedTask));
        await using var factory = await StartOpenAIAsync(new() { ["Quota:Mode"] = "PerToken" });
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageStreamingAsync(conversation.Id, "How are you?", Cancel);
        var events = response.ReadEventsAsync(Cancel).GetAsyncEnumerator(Cancel);
        Assert.True(await events.MoveNextAsync());
        var reserved = 4000 - events.Current.As<UserEventBody>().TokenBalance;
        Assert.InRange(reserved, 256 + 10, 256 + 40); // MaxOutputTokens plus the prompt estimate
        Assert.Equal(4000 - reserved, await client.GetBalanceAsync());
        gate.SetResult();
        var rest = new List<SseEvent>();
        while (await events.MoveNextAsync())
        {
            rest.Add(events.Current);
        }

        await events.DisposeAsync();
        var reply = rest[^1].As<AssistantEventBody>();
        Assert.Equal(4000 - 25, reply.TokenBalance);
        Assert.Equal(4000 - 25, await client.GetBalanceAsync());
        AssertReply(reply.AssistantMessage, "Fine.", "completed", "stop", new UsageBody(20, 5));
    }

    [Fact]
    public async Task PerTokenParallelSendsCannotReserveMoreThanTheBalance()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.Default = OpenAIReply.Stream(
            [OpenAIReply.Role(), OpenAIReply.Content("Ok."), OpenAIReply.Finish("stop"), OpenAIReply.Usage(20, 2), OpenAIReply.Done],
            (_, part) => part == 0 ? gate.Task : Task.CompletedTask);
        await using var factory = await StartOpenAIAsync(new() { ["Quota:Mode"] = "PerToken", ["Quota:InitialBalance"] = "600" });
        var client = await factory.CreateUserClientAsync();
        var conversations = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => client.CreateConversationAsync()));

        // Each send reserves ~280 tokens (256 of output plus the prompt): two fit in 600, the third must not.
        var responses = await Task.WhenAll(conversations.Select(c => client.PostMessageStreamingAsync(c.Id, "Hi", Cancel)));

        Assert.Equal(2, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        await responses.Single(r => r.StatusCode != HttpStatusCode.OK).AssertProblemAsync(HttpStatusCode.PaymentRequired);
        Assert.InRange(await client.GetBalanceAsync(), 0, 600 - (2 * 256));
        gate.SetResult();
        foreach (var response in responses.Where(r => r.StatusCode == HttpStatusCode.OK))
        {
            Assert.Equal("assistant", (await response.ReadAllEventsAsync())[^1].Type);
        }

        Array.ForEach(responses, r => r.Dispose());
        Assert.Equal(600 - (2 * 22), await client.GetBalanceAsync());
    }

    [Fact]
    public async Task PerTokenRefundsAFailedTurnCompletely()
    {
        _fake.Then(OpenAIReply.Stream([OpenAIReply.Role(), OpenAIReply.Content("Par"), OpenAIReply.Error("boom")]));
        await using var factory = await StartOpenAIAsync(new() { ["Quota:Mode"] = "PerToken" });
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, "Hello");

        await response.AssertProblemAsync(HttpStatusCode.BadGateway);
        await AssertFailedTurnAsync(client, conversation.Id, "Par", 4000);
    }

    [Fact]
    public async Task TheOllamaProviderStreamsAndReportsUsage()
    {
        await using var factory = await StartOllamaAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageStreamingAsync(conversation.Id, "Hello llama", Cancel);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal(["user", "delta", "delta", "delta", "delta", "assistant"], events.Select(e => e.Type));
        var reply = events[^1].As<AssistantEventBody>();
        Assert.Equal("llama-fake", reply.AssistantMessage.Model);
        AssertReply(reply.AssistantMessage, "Hello from the fake", "completed", "stop", new UsageBody(10, 4));
        var request = _fake.Requests.Single();
        Assert.Equal(("/api/chat", "llama-fake", 128), (request.Path, Str(request.Body["model"]), request.Body["options"]?["num_predict"]?.GetValue<int>()));
        Assert.Equal(3900, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task AnOllamaErrorBeforeTheReplyIs502AndRefunded()
    {
        _fake.Then(FakeModelServer.Ollama.Error(404, "model \"llama-fake\" not found, try pulling it first"));
        await using var factory = await StartOllamaAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageAsync(conversation.Id, "Hello llama");

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadGateway);
        Assert.Equal(4000, problem.TokenBalance);
        await AssertFailedTurnAsync(client, conversation.Id, "", 4000);
    }

    [Fact]
    public async Task AnOllamaErrorMidStreamKeepsThePartialReplyAndRefunds()
    {
        _fake.Then(FakeModelServer.Ollama.ErrorMidStream("Half", "an error was encountered while running the model"));
        await using var factory = await StartOllamaAsync();
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageStreamingAsync(conversation.Id, "Hello llama", Cancel);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal(["user", "delta", "error"], events.Select(e => e.Type));
        Assert.Equal((502, 4000L), (events[^1].Data.Deserialize<ProblemBody>(Json.Lenient)!.Status, events[^1].Data.Deserialize<ProblemBody>(Json.Lenient)!.TokenBalance));
        await AssertFailedTurnAsync(client, conversation.Id, "Half", 4000);
    }

    [Fact]
    public async Task AnUntitledConversationIsTitledByTheModelAfterItsFirstReplyUncharged()
    {
        _fake.Then(_fake.Default, OpenAIReply.Completion("\"Greeting the fake\""));
        await using var factory = await StartOpenAIAsync(new() { ["Bot:GenerateTitles"] = "true" });
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        await client.SendAsync(conversation.Id, "Hello there, model");
        await factory.Services.GetRequiredService<TitleGenerator>().WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30), Cancel);

        Assert.Equal("Greeting the fake", (await client.GetConversationAsync(conversation.Id)).Title);
        Assert.False(_fake.Requests[1].Stream);
        Assert.Equal(3900, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task AConversationWhoseFirstTurnFailedIsTitledAfterItsFirstSuccessfulReply()
    {
        _fake.Then(OpenAIReply.JsonError(500, "crashed", "server_error"), OpenAIReply.JsonError(500, "crashed", "server_error"),
            OpenAIReply.JsonError(500, "crashed", "server_error"), OpenAIReply.JsonError(500, "crashed", "server_error"),
            _fake.Default, OpenAIReply.Completion("Second attempt"));
        await using var factory = await StartOpenAIAsync(new() { ["Bot:GenerateTitles"] = "true" });
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var failed = await client.PostMessageAsync(conversation.Id, "First try");
        await failed.AssertProblemAsync(HttpStatusCode.BadGateway);
        await factory.Services.GetRequiredService<TitleGenerator>().WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        Assert.Equal("New conversation", (await client.GetConversationAsync(conversation.Id)).Title);
        await client.SendAsync(conversation.Id, "Second try");
        await factory.Services.GetRequiredService<TitleGenerator>().WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30), Cancel);

        Assert.Equal("Second attempt", (await client.GetConversationAsync(conversation.Id)).Title);
    }

    [Fact]
    public async Task EchoRepliesCarryTheEchoModelAndCountedUsage()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        var turn = await client.SendAsync(conversation.Id, "count these four words");

        Assert.Equal(("echo", "stop"), (turn.AssistantMessage.Model, turn.AssistantMessage.FinishReason));
        Assert.Equal(4, turn.AssistantMessage.Usage!.CompletionTokens);
        Assert.Equal(4 + 4 + 3, turn.AssistantMessage.Usage.PromptTokens); // content + framing + reply priming (no system prompt)
        Assert.Equal(("echo", null), ((await client.GetConversationAsync(conversation.Id)).Model, (await client.GetConversationAsync(conversation.Id)).SystemPrompt));
    }

    [Fact]
    public async Task ARealServerAnswersWhenConfigured()
    {
        var openAI = Environment.GetEnvironmentVariable("PARLEY_TEST_OPENAI_BASE_URL");
        var ollama = Environment.GetEnvironmentVariable("PARLEY_TEST_OLLAMA_BASE_URL");
        if (string.IsNullOrEmpty(openAI) && string.IsNullOrEmpty(ollama))
        {
            Assert.Skip("No real model server: set PARLEY_TEST_OPENAI_BASE_URL (+ PARLEY_TEST_OPENAI_MODEL, PARLEY_TEST_OPENAI_API_KEY) or PARLEY_TEST_OLLAMA_BASE_URL (+ PARLEY_TEST_OLLAMA_MODEL) to run this test against one.");
        }

        var settings = !string.IsNullOrEmpty(openAI)
            ? new Dictionary<string, string?>
            {
                ["Bot:Provider"] = "openai",
                ["Bot:OpenAI:BaseUrl"] = openAI,
                ["Bot:OpenAI:ApiKey"] = Environment.GetEnvironmentVariable("PARLEY_TEST_OPENAI_API_KEY"),
                ["Bot:Models:0:Id"] = Environment.GetEnvironmentVariable("PARLEY_TEST_OPENAI_MODEL") ?? "gpt-4o-mini",
            }
            : new Dictionary<string, string?>
            {
                ["Bot:Provider"] = "ollama",
                ["Bot:Ollama:BaseUrl"] = ollama,
                ["Bot:Models:0:Id"] = Environment.GetEnvironmentVariable("PARLEY_TEST_OLLAMA_MODEL") ?? "llama3.2",
            };
        settings["Bot:Models:0:MaxOutputTokens"] = "64";
        settings["Bot:GenerateTitles"] = "false";
        await using var factory = await Fixture.StartFactoryAsync(settings);
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var response = await client.PostMessageStreamingAsync(conversation.Id, "Reply with the single word: pong", Cancel);
        var events = await response.ReadAllEventsAsync();

        Assert.Equal("assistant", events[^1].Type);
        var reply = events[^1].As<AssistantEventBody>().AssistantMessage;
        Assert.Equal("completed", reply.Status);
        Assert.Contains("pong", reply.Content, StringComparison.OrdinalIgnoreCase);
        Assert.True(reply.Usage!.PromptTokens > 0 && reply.Usage.CompletionTokens > 0, $"usage {reply.Usage}");
    }

    private Task<ParleyFactory> StartOllamaAsync() => Fixture.StartFactoryAsync(new Dictionary<string, string?>
    {
        ["Bot:Provider"] = "ollama",
        ["Bot:Ollama:BaseUrl"] = _fake.BaseUrl,
        ["Bot:Models:0:Id"] = "llama-fake",
        ["Bot:Models:0:ContextTokens"] = "4096",
        ["Bot:Models:0:MaxOutputTokens"] = "128",
        ["Bot:GenerateTitles"] = "false",
        ["Bot:RetryDelay"] = "00:00:00.010",
    });

    private Task<ParleyFactory> StartOpenAIAsync(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Bot:Provider"] = "openai",
            ["Bot:OpenAI:BaseUrl"] = _fake.OpenAIBaseUrl,
            ["Bot:OpenAI:ApiKey"] = ApiKey,
            ["Bot:Models:0:Id"] = "fake-large",
            ["Bot:Models:0:ContextTokens"] = "8192",
            ["Bot:Models:0:MaxOutputTokens"] = "256",
            ["Bot:Models:1:Id"] = "fake-small",
            ["Bot:Models:1:ContextTokens"] = "300",
            ["Bot:Models:1:MaxOutputTokens"] = "200",
            ["Bot:DefaultModel"] = "fake-large",
            ["Bot:SystemPrompt"] = "You are terse.",
            ["Bot:RetryDelay"] = "00:00:00.010",
            ["Bot:GenerateTitles"] = "false",
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return Fixture.StartFactoryAsync(settings);
    }

    private static void AssertReply(MessageBody reply, string content, string status, string finishReason, UsageBody usage)
    {
        Assert.Equal(("assistant", content, status, finishReason, usage), (reply.Role, reply.Content, reply.Status, reply.FinishReason, reply.Usage));
    }

    /// <summary>The turn is stored failed (user and assistant), the reply holds <paramref name="partial"/>, and the balance is back.</summary>
    private static async Task AssertFailedTurnAsync(HttpClient client, Guid conversationId, string partial, long balance)
    {
        var stored = await client.GetAllMessagesAsync(conversationId);
        Assert.Equal(["failed", "failed"], stored.Select(m => m.Status));
        Assert.Equal((partial, "error"), (stored[1].Content, stored[1].FinishReason));
        Assert.Equal(balance, await client.GetBalanceAsync());
    }

    private static string? Str(System.Text.Json.Nodes.JsonNode? node) => node?.GetValue<string>();
}

public sealed class ModelProviderOnSqlite(SqliteFixture fixture) : ModelProviderTests<SqliteFixture>(fixture);

public sealed class ModelProviderOnPostgreSql(PostgreSqlFixture fixture) : ModelProviderTests<PostgreSqlFixture>(fixture);
