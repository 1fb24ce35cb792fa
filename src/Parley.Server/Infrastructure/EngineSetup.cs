using System.Data.Common;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Parley.Engine;
using Parley.Engine.Bots;
using Parley.Engine.Storage;
using Parley.Server.Models;

namespace Parley.Server.Infrastructure;

/// <summary>Registers the conversation engine (its protocol, store, the bot chosen by <c>Bot:Provider</c> — <see cref="BotSetup"/> — and the grains' front door) on the co-hosted silo.</summary>
public static class EngineSetup
{
    /// <summary>
    /// Adds <see cref="ConversationClient"/>, <see cref="TurnProtocol"/>, <see cref="SqlTurnStore"/> (its group-commit
    /// writers: <see cref="EngineOptions.CommitWriters"/>), the <see cref="IChatClient"/>, start-up recovery of this node's pending turns, and the silo.
    /// </summary>
    public static WebApplicationBuilder AddParleyEngine(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<EngineOptions>().BindConfiguration(EngineOptions.SectionName)
            .Configure<IOptions<QuotaOptions>>((engine, quota) => engine.CostPerMessage = quota.Value.CostPerMessage)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>();
        services.AddParleyBot();
        // One registration only: a second one forwarding to the same instance (e.g. as ITurnStore) makes the container
        // dispose the store twice, and GroupCommitWriter.DisposeAsync throws on the second call at every shutdown.
        services.AddSingleton(sp => new SqlTurnStore(
            sp.GetRequiredService<DbDataSource>(),
            sp.GetRequiredService<SqlDialect>(),
            sp.GetRequiredService<IOptions<EngineOptions>>().Value.MaxCommitBatch,
            sp.GetRequiredService<ILogger<SqlTurnStore>>(),
            sp.GetRequiredService<EngineMetrics>(),
            sp.GetRequiredService<IOptions<EngineOptions>>().Value.CommitWriters));
        services.AddSingleton(sp => new EngineMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton<INodeDirectory, OrleansNodeDirectory>();
        services.AddSingleton(sp => new TurnProtocol(
            sp.GetRequiredService<SqlTurnStore>(),
            sp.GetRequiredService<IChatClient>(),
            sp.GetRequiredService<IOptions<EngineOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<EngineMetrics>(),
            sp.GetRequiredService<INodeDirectory>(),
            sp.GetRequiredService<ILogger<TurnProtocol>>(),
            sp.GetRequiredService<BotSettings>()));
        services.AddSingleton(sp => new PendingTurnRecovery(
            sp.GetRequiredService<SqlTurnStore>(), sp.GetRequiredService<TurnProtocol>(), sp.GetRequiredService<ILogger<PendingTurnRecovery>>()));
        services.AddSingleton(sp => new ConversationClient(
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<IOptions<EngineOptions>>().Value,
            sp.GetRequiredService<EngineMetrics>(),
            sp.GetRequiredService<ILogger<ConversationClient>>(),
            sp.GetRequiredService<INodeDirectory>()));

        // Registered before the silo: hosted services start in order, so this node's old pending turns are settled
        // before it joins the cluster and serves again.
        services.AddHostedService<StartupRecovery>();
        builder.AddParleyCluster();
        return builder;
    }
}

/// <summary>
/// Validates <see cref="EngineOptions"/> at start, naming the out-of-range key (e.g. <c>Engine:MailboxCapacity</c>),
/// and <see cref="EngineOptions.CommitWriters"/> against the database's range (<see cref="SqlDialect.CommitWriters"/>:
/// more than 1 on SQLite stops the server).
/// </summary>
internal sealed class EngineOptionsValidator(SqlDialect dialect) : IValidateOptions<EngineOptions>
{
    public ValidateOptionsResult Validate(string? name, EngineOptions options)
    {
        try
        {
            options.Validate();
            dialect.CommitWriters(options.CommitWriters);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"{EngineOptions.SectionName}:{ex.ParamName} is out of range: {ex.Message}");
        }
    }
}

/// <summary>Settles, once at start and before the silo starts, the turns a previous run of this node left unfinished.</summary>
internal sealed partial class StartupRecovery(PendingTurnRecovery recovery, ILogger<StartupRecovery> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await recovery.RecoverAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRecoveryFailed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Error, Message = "Settling unfinished turns at start failed; they will be settled when their conversations are next used")]
    private static partial void LogRecoveryFailed(ILogger logger, Exception exception);
}
