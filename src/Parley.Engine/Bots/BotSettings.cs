namespace Parley.Engine.Bots;

/// <summary>
/// What the engine's turns need to know about the bot: the models, the default system prompt and sampling, the
/// first-token timeout, how turns are charged, how tokens are counted and how provider errors read to a user.
/// The server builds it from <c>Bot:*</c> and <c>Quota:Mode</c>; the defaults are the echo bot's.
/// </summary>
public sealed class BotSettings
{
    /// <summary>The models conversations may use (<c>Bot:Models</c>); never empty. Default: <see cref="ModelSpec.Echo"/>.</summary>
    public IReadOnlyList<ModelSpec> Models { get; init; } = [ModelSpec.Echo];

    /// <summary>The model of conversations that name none, or whose model is no longer configured (<c>Bot:DefaultModel</c>).</summary>
    public string DefaultModel { get; init; } = ModelSpec.Echo.Id;

    /// <summary>The system prompt of conversations that set none (<c>Bot:SystemPrompt</c>); null or empty for none.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>Sampling temperature sent to the model (<c>Bot:Temperature</c>); null leaves the provider's default.</summary>
    public float? Temperature { get; init; }

    /// <summary>A reply whose first chunk takes longer than this fails with a 504 (<c>Bot:FirstTokenTimeout</c>). Default 60 s.</summary>
    public TimeSpan FirstTokenTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How turns are charged (<c>Quota:Mode</c>). Default <see cref="QuotaMode.PerMessage"/>.</summary>
    public QuotaMode QuotaMode { get; init; } = QuotaMode.PerMessage;

    /// <summary>
    /// Store the user message (and charge) before the bot runs for non-streamed sends too, as streamed sends always do, so a
    /// failed or stopped reply is stored with its partial text. Needed for real models and <see cref="QuotaMode.PerToken"/>;
    /// off for the echo bot, whose non-streamed turn is one commit.
    /// </summary>
    public bool StoreBeforeReply { get; init; }

    /// <summary>
    /// Treat a stream that ends without a finish reason as broken (real providers always send one; llama.cpp's server ends
    /// the stream after a mid-stream <c>data: {"error":…}</c> event without one). Off for bots that report none.
    /// </summary>
    public bool RequireFinishReason { get; init; }

    /// <summary>Counts tokens for the context window, the stored per-message counts and usage a provider did not report.</summary>
    public ITokenCounter Tokens { get; init; } = TiktokenCounter.Shared;

    /// <summary>Turns a provider's exception into words for the user; null when it does not recognise it (then a generic text is used).</summary>
    public Func<Exception, BotFailure?> DescribeFailure { get; init; } = static _ => null;

    /// <summary>The retrieval stage of conversations with <c>useDocuments</c> on (<c>Knowledge:*</c>); null: no document excerpts are added.</summary>
    public IPromptAugmenter? Documents { get; init; }

    /// <summary>Gives a conversation a title after its first reply (<c>Bot:GenerateTitles</c>); null to title it from the first message instead.</summary>
    public ITitleGenerator? Titles { get; init; }

    /// <summary>The model <paramref name="modelId"/> names, else the default model.</summary>
    public ModelSpec Resolve(string? modelId)
    {
        ModelSpec? fallback = null;
        foreach (var model in Models)
        {
            if (model.Id == modelId)
            {
                return model;
            }

            if (model.Id == DefaultModel)
            {
                fallback = model;
            }
        }

        return fallback ?? Models[0];
    }

    /// <summary>True when <paramref name="modelId"/> is one of <see cref="Models"/>.</summary>
    public bool IsKnown(string modelId) => Models.Any(m => m.Id == modelId);
}

/// <summary>A provider failure described for the user.</summary>
/// <param name="Error"><see cref="TurnError.BotFailed"/> (502), <see cref="TurnError.BotTimedOut"/> (504) or
/// <see cref="TurnError.InvalidContent"/> (400 on <c>content</c>: the provider found the prompt too long).</param>
/// <param name="Detail">What failed, in words a user understands: never a key, a URL with credentials or a stack trace.</param>
public sealed record BotFailure(TurnError Error, string Detail);

/// <summary>
/// A provider failure already described for the user. Thrown by the provider layer in place of the provider's own exception,
/// whose message may quote the provider's response (and through it the request or its credentials), so nothing above it —
/// logging, telemetry, the engine — sees more than <see cref="BotFailure.Detail"/>.
/// </summary>
/// <param name="failure">The description.</param>
public sealed class BotFailureException(BotFailure failure) : Exception(failure.Detail)
{
    /// <summary>The description.</summary>
    public BotFailure Failure { get; } = failure;
}

/// <summary>Titles a conversation from its first exchange, in the background: the reply is never delayed and the user never charged.</summary>
public interface ITitleGenerator
{
    /// <summary>Starts titling <paramref name="conversationId"/> (if it still has no title) and returns at once.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="model">The model that wrote the reply (the title is asked of the same one).</param>
    /// <param name="userText">The first user message.</param>
    /// <param name="reply">The first reply.</param>
    void Schedule(Guid conversationId, string model, string userText, string reply);
}
