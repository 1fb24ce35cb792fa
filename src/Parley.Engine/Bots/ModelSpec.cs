namespace Parley.Engine.Bots;

/// <summary>A model Parley may call (one entry of <c>Bot:Models</c>).</summary>
/// <param name="Id">The provider's model name, sent as the request's <c>model</c> (e.g. <c>gpt-4o-mini</c>, <c>llama3.2</c>).</param>
/// <param name="ContextTokens">The model's context window in tokens: prompt plus reply must fit in it.</param>
/// <param name="MaxOutputTokens">Most tokens a reply may have (sent as <c>max_tokens</c>/<c>num_predict</c>); the prompt gets
/// <c>ContextTokens − MaxOutputTokens</c>.</param>
public sealed record ModelSpec(string Id, int ContextTokens, int MaxOutputTokens)
{
    /// <summary>The echo bot's model: a 131,072-token window with up to 32,768 tokens of reply (enough to echo the longest message).</summary>
    public static ModelSpec Echo { get; } = new("echo", 131_072, 32_768);

    /// <summary>Tokens the prompt (system prompt and history) may use: <see cref="ContextTokens"/> − <see cref="MaxOutputTokens"/>.</summary>
    public int PromptBudget => ContextTokens - MaxOutputTokens;
}
