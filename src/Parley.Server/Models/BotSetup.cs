using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using OllamaSharp;
using OpenAI;
using Parley.Engine;
using Parley.Engine.Bots;
using Parley.Server.Infrastructure;
using Polly;

namespace Parley.Server.Models;

/// <summary>
/// Registers the bot chosen by <c>Bot:Provider</c> as the engine's <see cref="IChatClient"/>, and the <see cref="BotSettings"/>
/// its turns run with. A real provider is composed with Microsoft.Extensions.AI's pipeline (OpenTelemetry with the GenAI
/// semantic conventions, then logging) over a per-model router, and its HttpClient carries a resilience handler: retries with
/// exponential backoff on connection failures, 408, 429 and 5xx — which can only happen before the response's first byte,
/// so never after the first chunk — and a circuit breaker.
/// </summary>
public static class BotSetup
{
    /// <summary>The named HttpClient of model requests.</summary>
    public const string HttpClientName = "Parley.Models";

    /// <summary>The OpenTelemetry source (traces and metrics) of model calls.</summary>
    public const string TelemetrySource = "Parley.Models";

    /// <summary>Adds <see cref="BotOptions"/>, the model HttpClient, the <see cref="IChatClient"/>, <see cref="BotSettings"/> and the title generator.</summary>
    public static IServiceCollection AddParleyBot(this IServiceCollection services)
    {
        services.AddOptions<BotOptions>().BindConfiguration(BotOptions.SectionName).ValidateDataAnnotations()
            .Validate(bot => Problem(bot) is null, "Bot:Models is not valid: each model needs an Id and MaxOutputTokens below ContextTokens, ids must be unique, Bot:DefaultModel must be one of them, and openai/ollama need at least one model.")
            .ValidateOnStart();
        // DataAnnotations do not descend into nested objects: each nested section is validated on its own.
        services.AddOptions<EchoBotOptions>().BindConfiguration("Bot:Echo").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OpenAIOptions>().BindConfiguration("Bot:OpenAI").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OllamaOptions>().BindConfiguration("Bot:Ollama").ValidateDataAnnotations().ValidateOnStart();

        services.AddHttpClient(HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan) // the engine's timeouts govern
            .AddResilienceHandler("model", static (pipeline, context) =>
            {
                var bot = context.ServiceProvider.GetRequiredService<IOptions<BotOptions>>().Value;
                if (bot.RetryAttempts > 0)
                {
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = bot.RetryAttempts,
                        Delay = bot.RetryDelay,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                    });
                }

                pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.5,
                    MinimumThroughput = 10,
                    SamplingDuration = TimeSpan.FromSeconds(30),
                    BreakDuration = bot.CircuitBreakDuration,
                });
            });

        services.AddSingleton<TitleGenerator>();
        services.AddSingleton<IChatClient>(CreateChatClient);
        services.AddSingleton(sp =>
        {
            var bot = sp.GetRequiredService<IOptions<BotOptions>>().Value;
            var quota = sp.GetRequiredService<IOptions<QuotaOptions>>().Value;
            var models = Models(bot);
            return new BotSettings
            {
                Models = models,
                DefaultModel = bot.DefaultModel ?? models[0].Id,
                SystemPrompt = bot.SystemPrompt,
                Temperature = bot.Temperature,
                FirstTokenTimeout = bot.FirstTokenTimeout,
                QuotaMode = quota.Mode,
                StoreBeforeReply = !bot.IsEcho || quota.Mode == QuotaMode.PerToken,
                RequireFinishReason = !bot.IsEcho,
                DescribeFailure = ProviderErrors.Describe,
                Titles = bot.TitlesEnabled ? sp.GetRequiredService<TitleGenerator>() : null,
                Documents = sp.GetService<IPromptAugmenter>(),
            };
        });
        return services;
    }

    /// <summary>The configured models; for the echo bot without any, <see cref="ModelSpec.Echo"/>.</summary>
    public static IReadOnlyList<ModelSpec> Models(BotOptions bot) => bot.Models.Count == 0 && bot.IsEcho
        ? [ModelSpec.Echo]
        : bot.Models.ConvertAll(m => new ModelSpec(m.Id, m.ContextTokens, m.MaxOutputTokens));

    private static string? Problem(BotOptions bot)
    {
        var models = Models(bot);
        if (models.Count == 0)
        {
            return "no models";
        }

        if (models.Any(m => string.IsNullOrWhiteSpace(m.Id) || m.MaxOutputTokens >= m.ContextTokens))
        {
            return "bad model";
        }

        if (models.Select(m => m.Id).Distinct(StringComparer.Ordinal).Count() != models.Count)
        {
            return "duplicate";
        }

        return bot.DefaultModel is { } id && models.All(m => m.Id != id) ? "unknown default" : null;
    }

    private static IChatClient CreateChatClient(IServiceProvider services)
    {
        var bot = services.GetRequiredService<IOptions<BotOptions>>().Value;
        var time = services.GetRequiredService<TimeProvider>();
        if (bot.IsEcho)
        {
            // No pipeline: the echo bot is the benchmarks' bot, and has nothing to trace or retry.
            return new EchoChatClient(TimeSpan.FromMilliseconds(bot.Echo.ChunkDelayMs), time);
        }

        var http = services.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName);
        var models = Models(bot);
        var clients = new Dictionary<string, IChatClient>(StringComparer.Ordinal);
        if (bot.Provider.Equals("openai", StringComparison.OrdinalIgnoreCase))
        {
            var openAI = CreateOpenAIClient(bot, http, networkTimeout: TimeSpan.FromHours(1)); // the engine's first-token and turn timeouts govern
            foreach (var model in models)
            {
                clients[model.Id] = openAI.GetChatClient(model.Id).AsIChatClient();
            }
        }
        else
        {
            http.BaseAddress = bot.Ollama.BaseUrl;
            foreach (var model in models)
            {
                clients[model.Id] = new OllamaApiClient(http, model.Id);
            }
        }

        var loggers = services.GetRequiredService<ILoggerFactory>();
        return new ChatClientBuilder(new ModelRouter(clients, bot.DefaultModel ?? models[0].Id))
            .UseOpenTelemetry(loggers, TelemetrySource)
            .UseLogging(loggers)
            .Build(services);
    }

    /// <summary>
    /// The OpenAI-compatible client of <c>Bot:OpenAI</c> (base URL, API key; "none" when unset, as local servers accept)
    /// over <paramref name="http"/>, the model HttpClient whose resilience handler retries, so the SDK's own retries are
    /// off. Used by the chat client and by Knowledge's embedding generator.
    /// </summary>
    /// <param name="bot">The bot settings.</param>
    /// <param name="http">The model HttpClient (<see cref="HttpClientName"/>).</param>
    /// <param name="networkTimeout">The SDK's per-request timeout; null keeps its default (100 s).</param>
    internal static OpenAIClient CreateOpenAIClient(BotOptions bot, HttpClient http, TimeSpan? networkTimeout = null) =>
        new(new ApiKeyCredential(string.IsNullOrEmpty(bot.OpenAI.ApiKey) ? "none" : bot.OpenAI.ApiKey), new OpenAIClientOptions
        {
            Endpoint = bot.OpenAI.BaseUrl,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = networkTimeout,
        });
}
