using System.Data.Common;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Parley.Engine;
using Parley.Engine.Bots;
using Parley.Engine.Storage;
using Parley.Server.Models;

namespace Parley.Server.Infrastructure;

/// <summary>Registers the conversation engine, its store and the bot chosen by <c>Bot:Provider</c> (<see cref="BotSetup"/>).</summary>
public static class EngineSetup
{
    /// <summary>Adds <see cref="ConversationEngine"/>, <see cref="SqlTurnStore"/>, the <see cref="IChatClient"/> and the engine's background work.</summary>
    public static IServiceCollection AddParleyEngine(this IServiceCollection services, IConfiguration configuration)
    {
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
            sp.GetRequiredService<ILogger<SqlTurnStore>>()));
        services.AddSingleton(sp => new ConversationEngine(
            sp.GetRequiredService<SqlTurnStore>(),
            sp.GetRequiredService<IChatClient>(),
            sp.GetRequiredService<IOptions<EngineOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ConversationEngine>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<BotSettings>()));
        services.AddHostedService<EngineMaintenance>();
        return services;
    }
}

/// <summary>Validates <see cref="EngineOptions"/> at start, naming the out-of-range key (e.g. <c>Engine:MailboxCapacity</c>).</summary>
internal sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>
{
    public ValidateOptionsResult Validate(string? name, EngineOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"{EngineOptions.SectionName}:{ex.ParamName} is out of range: {ex.Message}");
        }
    }
}

/// <summary>Runs the engine's eviction sweep, and once at start settles turns a previous run of this node left unfinished.</summary>
internal sealed partial class EngineMaintenance(ConversationEngine engine, ILogger<EngineMaintenance> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await engine.RecoverPendingTurnsAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRecoveryFailed(logger, ex);
        }

        await engine.RunMaintenanceAsync(stoppingToken);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Settling unfinished turns at start failed; they will be settled when their conversations are next used")]
    private static partial void LogRecoveryFailed(ILogger logger, Exception exception);
}
