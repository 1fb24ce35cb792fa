using System.ClientModel;
using System.Text.Json;
using OllamaSharp.Models.Exceptions;
using Parley.Engine;
using Parley.Engine.Bots;
using Polly.CircuitBreaker;

namespace Parley.Server.Models;

/// <summary>
/// Turns what the OpenAI SDK, OllamaSharp, HttpClient and the resilience pipeline throw into words a user understands
/// (<see cref="BotSettings.DescribeFailure"/>). The texts name the HTTP status at most: never the provider's URL, a key or
/// the exception's own message (which may quote the request).
/// </summary>
public static class ProviderErrors
{
    /// <summary>Describes <paramref name="exception"/>, or returns null for one it does not know.</summary>
    public static BotFailure? Describe(Exception exception) => exception switch
    {
        BotFailureException described => described.Failure,
        ClientResultException { Status: > 0 } result => FromStatus(result.Status, result.Message),
        HttpRequestException { StatusCode: { } status } http => FromStatus((int)status, http.Message),
        OllamaException ollama => IsTooLong(ollama.Message)
            ? TooLong()
            : new BotFailure(TurnError.BotFailed, "The Ollama server reported an error while replying."),
        BrokenCircuitException => new BotFailure(TurnError.BotFailed,
            "The model provider has been failing, so Parley pauses requests to it for a few seconds. Try again shortly."),
        HttpRequestException { InnerException: System.Net.Sockets.SocketException } => new BotFailure(TurnError.BotFailed,
            "Parley could not reach the model provider."),
        HttpRequestException or IOException => new BotFailure(TurnError.BotFailed,
            "The connection to the model provider broke during the reply."),
        ClientResultException => new BotFailure(TurnError.BotFailed, "The connection to the model provider broke during the reply."),
        JsonException => new BotFailure(TurnError.BotFailed, "The model provider sent a reply Parley could not read."),
        _ => null,
    };

    private static BotFailure FromStatus(int status, string message) => status switch
    {
        400 or 413 when IsTooLong(message) => TooLong(),
        401 or 403 => new BotFailure(TurnError.BotFailed,
            $"The model provider refused Parley's credentials (HTTP {status}); an administrator must check the API key."),
        404 => new BotFailure(TurnError.BotFailed, "The model provider does not offer this model (HTTP 404)."),
        408 or 504 => new BotFailure(TurnError.BotTimedOut, $"The model provider timed out (HTTP {status})."),
        429 => new BotFailure(TurnError.BotFailed, "The model provider is rate-limiting Parley (HTTP 429); try again shortly."),
        >= 500 => new BotFailure(TurnError.BotFailed, $"The model provider failed with an internal error (HTTP {status})."),
        _ => new BotFailure(TurnError.BotFailed, $"The model provider rejected the request (HTTP {status})."),
    };

    private static BotFailure TooLong() => new(TurnError.InvalidContent,
        "The model provider rejected the message: the conversation is too long for the model's context window. Send a shorter message or start a new conversation.");

    /// <summary>OpenAI's <c>context_length_exceeded</c>, llama.cpp's "exceeds the available context size", vLLM's "maximum context length".</summary>
    private static bool IsTooLong(string message) =>
        message.Contains("context_length_exceeded", StringComparison.OrdinalIgnoreCase)
        || message.Contains("context length", StringComparison.OrdinalIgnoreCase)
        || message.Contains("context size", StringComparison.OrdinalIgnoreCase)
        || message.Contains("context window", StringComparison.OrdinalIgnoreCase)
        || message.Contains("too long", StringComparison.OrdinalIgnoreCase);
}
