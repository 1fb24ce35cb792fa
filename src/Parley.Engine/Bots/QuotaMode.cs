namespace Parley.Engine.Bots;

/// <summary>How a turn is charged (<c>Quota:Mode</c>).</summary>
public enum QuotaMode
{
    /// <summary>A fixed <see cref="EngineOptions.CostPerMessage"/> per accepted message; refunded when the bot fails (the default).</summary>
    PerMessage,

    /// <summary>
    /// Prompt plus completion tokens actually used: the prompt estimate plus the model's <see cref="ModelSpec.MaxOutputTokens"/>
    /// are reserved atomically before the model is called, and the unused rest is refunded when the turn settles (all of it
    /// when the bot fails). A turn is never charged more than it reserved, so a balance cannot go below zero.
    /// </summary>
    PerToken,
}
