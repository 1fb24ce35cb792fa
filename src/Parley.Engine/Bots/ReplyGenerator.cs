using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Parley.Engine.Bots;

/// <summary>How a reply ended (<c>finishReason</c> of an assistant message).</summary>
public static class FinishReasons
{
    /// <summary>The model finished its reply.</summary>
    public const string Stop = "stop";

    /// <summary>The reply reached <see cref="ModelSpec.MaxOutputTokens"/> (or the context window) and was cut.</summary>
    public const string Length = "length";

    /// <summary>The user stopped the turn (or left); the partial reply is kept.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The provider failed or timed out; the partial reply is kept and the turn refunded.</summary>
    public const string Error = "error";
}

/// <summary>Prompt and completion tokens of one reply.</summary>
/// <param name="PromptTokens">Tokens the model read.</param>
/// <param name="CompletionTokens">Tokens the model wrote.</param>
public sealed record TokenUsage(int PromptTokens, int CompletionTokens)
{
    /// <summary>Prompt plus completion tokens.</summary>
    public long Total => (long)PromptTokens + CompletionTokens;
}

/// <summary>The outcome of one call to the model.</summary>
/// <param name="Text">The reply as far as it arrived (partial when cancelled or failed).</param>
/// <param name="Status"><see cref="MessageStatuses.Completed"/>, <see cref="MessageStatuses.Cancelled"/> or <see cref="MessageStatuses.Failed"/>.</param>
/// <param name="FinishReason">One of <see cref="FinishReasons"/>.</param>
/// <param name="Usage">From the provider when it reported usage, else counted with the tokenizer.</param>
/// <param name="Failure">Why it failed, when <paramref name="Status"/> is failed.</param>
public sealed record ModelReply(string Text, string Status, string FinishReason, TokenUsage Usage, BotFailure? Failure);

/// <summary>
/// Calls the bot for one turn: streams the reply, forwards its chunks, enforces the first-token and whole-turn timeouts,
/// honours a stop, reads the provider's finish reason and usage, and turns every failure into a <see cref="ModelReply"/>
/// (it never throws).
/// </summary>
internal static partial class ReplyGenerator
{
    /// <summary>Runs the bot over <paramref name="prompt"/>.</summary>
    /// <param name="engine">The engine (bot, settings, clock, logger).</param>
    /// <param name="conversationId">For the log.</param>
    /// <param name="prompt">The messages to send.</param>
    /// <param name="model">The model to ask.</param>
    /// <param name="onDelta">Receives each non-empty chunk of text, or null.</param>
    /// <param name="stopped">Cancelled when the user stops the turn or the client leaves: the reply ends <see cref="MessageStatuses.Cancelled"/>.</param>
    public static async Task<ModelReply> GenerateAsync(
        ConversationEngine engine, Guid conversationId, TurnPrompt prompt, ModelSpec model, Action<string>? onDelta, CancellationToken stopped)
    {
        var settings = engine.BotSettings;
        var options = new ChatOptions { ModelId = model.Id, MaxOutputTokens = model.MaxOutputTokens, Temperature = settings.Temperature };
        var reply = new StringBuilder();
        string? finish = null;
        UsageDetails? usage = null;
        using var turnTimeout = new CancellationTokenSource(engine.Options.TurnTimeout, engine.Time);
        using var firstTokenTimeout = new CancellationTokenSource(settings.FirstTokenTimeout, engine.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(turnTimeout.Token, firstTokenTimeout.Token, stopped);
        var started = false;
        try
        {
            await foreach (var update in engine.Bot.GetStreamingResponseAsync(prompt, options, linked.Token))
            {
                var text = update.Text;
                if (!started && (text.Length > 0 || update.FinishReason is not null))
                {
                    started = true;
                    firstTokenTimeout.CancelAfter(Timeout.InfiniteTimeSpan);
                }

                if (text.Length > 0)
                {
                    reply.Append(text);
                    onDelta?.Invoke(text);
                }

                if (update.FinishReason is { } reason)
                {
                    finish = reason == ChatFinishReason.Length ? FinishReasons.Length : FinishReasons.Stop;
                }

                foreach (var content in update.Contents)
                {
                    if (content is UsageContent counted)
                    {
                        usage = counted.Details;
                    }
                }
            }

            if (finish is null && settings.RequireFinishReason)
            {
                return Failed(engine, conversationId, prompt, reply, usage, null,
                    new BotFailure(TurnError.BotFailed, "The model provider ended the reply before it was finished."));
            }

            return Reply(engine, prompt, reply, MessageStatuses.Completed, finish ?? FinishReasons.Stop, usage, null);
        }
        catch (OperationCanceledException) when (stopped.IsCancellationRequested)
        {
            return Reply(engine, prompt, reply, MessageStatuses.Cancelled, FinishReasons.Cancelled, usage, null);
        }
        catch (OperationCanceledException ex) when (firstTokenTimeout.IsCancellationRequested && !started)
        {
            return Failed(engine, conversationId, prompt, reply, usage, ex, new BotFailure(TurnError.BotTimedOut,
                $"The model did not start replying within {Describe(settings.FirstTokenTimeout)}."));
        }
        catch (OperationCanceledException ex) when (turnTimeout.IsCancellationRequested)
        {
            return Failed(engine, conversationId, prompt, reply, usage, ex, new BotFailure(TurnError.BotTimedOut,
                $"The model's reply took longer than {Describe(engine.Options.TurnTimeout)}; it was cut off."));
        }
        catch (BotFailureException ex)
        {
            return Failed(engine, conversationId, prompt, reply, usage, null, ex.Failure, nameof(BotFailureException));
        }
        catch (Exception ex)
        {
            // A recognised provider error is logged by its description only: its message may quote the provider's response,
            // which can echo the request or its credentials. An unknown one is logged whole, to be diagnosed.
            var described = settings.DescribeFailure(ex);
            return Failed(engine, conversationId, prompt, reply, usage, described is null ? ex : null,
                described ?? new BotFailure(TurnError.BotFailed, "The model provider failed while replying."), ex.GetType().Name);
        }
    }

    private static ModelReply Failed(
        ConversationEngine engine, Guid conversationId, TurnPrompt prompt, StringBuilder reply, UsageDetails? usage, Exception? exception,
        BotFailure failure, string? cause = null)
    {
        LogBotFailed(engine.Logger, exception, conversationId, failure.Detail, cause ?? exception?.GetType().Name ?? "none");
        return Reply(engine, prompt, reply, MessageStatuses.Failed, FinishReasons.Error, usage, failure);
    }

    private static ModelReply Reply(
        ConversationEngine engine, TurnPrompt prompt, StringBuilder reply, string status, string finish, UsageDetails? usage, BotFailure? failure)
    {
        var text = reply.ToString();
        var counted = new TokenUsage(
            usage?.InputTokenCount is { } input ? (int)input : prompt.Tokens,
            usage?.OutputTokenCount is { } output ? (int)output : engine.BotSettings.Tokens.Count(text));
        return new ModelReply(text, status, finish, counted, failure);
    }

    private static string Describe(TimeSpan span) =>
        span.TotalSeconds < 120 ? $"{span.TotalSeconds:0.#} seconds" : $"{span.TotalMinutes:0.#} minutes";

    [LoggerMessage(Level = LogLevel.Warning, Message = "The bot failed in conversation {ConversationId}: {Detail} ({Cause})")]
    private static partial void LogBotFailed(ILogger logger, Exception? exception, Guid conversationId, string detail, string cause);
}
