using System.ComponentModel.DataAnnotations;

namespace Parley.Server.Models;

/// <summary>The bot (section <c>Bot</c>): which provider answers, with which models, prompt and limits.</summary>
public sealed class BotOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Bot";

    /// <summary><c>echo</c> (default: replies with the user's text), <c>openai</c> (any OpenAI-compatible server: OpenAI, vLLM,
    /// llama.cpp's server, LM Studio) or <c>ollama</c>.</summary>
    [Required, RegularExpression("^(?i)(echo|openai|ollama)$", ErrorMessage = "Bot:Provider must be echo, openai or ollama.")]
    public string Provider { get; set; } = "echo";

    /// <summary>The models conversations may choose (<c>Bot:Models:0:Id</c>, …). Required for openai and ollama; the echo
    /// bot defaults to one model, <c>echo</c>.</summary>
    public List<ModelOptions> Models { get; set; } = [];

    /// <summary>The model of new conversations and of those naming none. Default: the first of <see cref="Models"/>.</summary>
    public string? DefaultModel { get; set; }

    /// <summary>The system prompt of conversations that set none. Default none.</summary>
    [MaxLength(8000, ErrorMessage = "Bot:SystemPrompt must be at most {1} characters.")]
    public string? SystemPrompt { get; set; }

    /// <summary>Sampling temperature, 0–2. Default: the provider's.</summary>
    [Range(0.0, 2.0, ErrorMessage = "Bot:Temperature must be between {1} and {2}.")]
    public float? Temperature { get; set; }

    /// <summary>A reply whose first chunk takes longer fails with 504 (refunded). Default 60 seconds.</summary>
    public TimeSpan FirstTokenTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Title a new conversation with the model after its first reply. Default: on for openai and ollama, off for echo.</summary>
    public bool? GenerateTitles { get; set; }

    /// <summary>Retries of a model request that failed before its first chunk (connection failure, 408, 429, 5xx). Default 3.</summary>
    [Range(0, 10, ErrorMessage = "Bot:RetryAttempts must be between {1} and {2}.")]
    public int RetryAttempts { get; set; } = 3;

    /// <summary>First retry delay, doubled per retry with jitter; a <c>Retry-After</c> header takes precedence. Default 1 second.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the circuit breaker keeps requests from a failing provider (≥ 50% of at least 10 requests failed
    /// within 30 s) before trying again. Default 15 seconds.</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Echo bot settings.</summary>
    public EchoBotOptions Echo { get; set; } = new();

    /// <summary>OpenAI-compatible server settings.</summary>
    public OpenAIOptions OpenAI { get; set; } = new();

    /// <summary>Ollama settings.</summary>
    public OllamaOptions Ollama { get; set; } = new();

    /// <summary>True for the echo bot.</summary>
    public bool IsEcho => Provider.Equals("echo", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether titles are generated (<see cref="GenerateTitles"/>, else on for real providers).</summary>
    public bool TitlesEnabled => GenerateTitles ?? !IsEcho;
}

/// <summary>One model (an entry of <c>Bot:Models</c>).</summary>
public sealed class ModelOptions
{
    /// <summary>The provider's model name (e.g. <c>gpt-4o-mini</c>, <c>llama3.2</c>).</summary>
    [Required(ErrorMessage = "Bot:Models:N:Id is required."), MaxLength(100, ErrorMessage = "Bot:Models:N:Id must be at most {1} characters.")]
    public string Id { get; set; } = "";

    /// <summary>The model's context window in tokens. Default 8,192.</summary>
    [Range(256, 10_000_000, ErrorMessage = "Bot:Models:N:ContextTokens must be between {1} and {2}.")]
    public int ContextTokens { get; set; } = 8192;

    /// <summary>Most tokens of one reply; must be below <see cref="ContextTokens"/>. Default 1,024.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Bot:Models:N:MaxOutputTokens must be between {1} and {2}.")]
    public int MaxOutputTokens { get; set; } = 1024;
}

/// <summary>The echo bot (section <c>Bot:Echo</c>).</summary>
public sealed class EchoBotOptions
{
    /// <summary>Delay between streamed chunks in milliseconds (to simulate a slow model). Default 0.</summary>
    [Range(0, 60_000, ErrorMessage = "Bot:Echo:ChunkDelayMs must be between {1} and {2}.")]
    public int ChunkDelayMs { get; set; }
}

/// <summary>An OpenAI-compatible server (section <c>Bot:OpenAI</c>).</summary>
public sealed class OpenAIOptions
{
    /// <summary>The API's base URL, up to and including <c>/v1</c>. Default <c>https://api.openai.com/v1</c>.</summary>
    [Required(ErrorMessage = "Bot:OpenAI:BaseUrl is required.")]
    public Uri BaseUrl { get; set; } = new("https://api.openai.com/v1");

    /// <summary>The API key, sent as a bearer token. Set it through the environment (<c>Bot__OpenAI__ApiKey</c>) or user
    /// secrets, never in a committed file; Parley never logs or returns it. Local servers accept any value.</summary>
    public string? ApiKey { get; set; }
}

/// <summary>An Ollama server (section <c>Bot:Ollama</c>).</summary>
public sealed class OllamaOptions
{
    /// <summary>The server's base URL. Default <c>http://localhost:11434</c>.</summary>
    [Required(ErrorMessage = "Bot:Ollama:BaseUrl is required.")]
    public Uri BaseUrl { get; set; } = new("http://localhost:11434");
}
