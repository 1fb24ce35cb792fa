using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.Hosting;
using Parley.Testing;

namespace Parley.Engine.Tests;

/// <summary>One engine node for a test: a generic host with a localhost silo on free ports, the protocol and the grains.</summary>
public sealed class TestEngine : IAsyncDisposable
{
    private readonly IHost _host;

    private TestEngine(IHost host) => _host = host;

    public ConversationClient Client => _host.Services.GetRequiredService<ConversationClient>();

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public TurnProtocol Protocol => _host.Services.GetRequiredService<TurnProtocol>();

    public static async Task<TestEngine> StartAsync(ITurnStore store, IChatClient bot, EngineOptions options, TimeProvider time)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        AddEngine(builder.Services, store, bot, options, time);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreePort.Next(), FreePort.Next(), serviceId: "engine-tests", clusterId: "t" + Guid.NewGuid().ToString("N")[..8]);
            silo.Configure<SiloOptions>(o => o.SiloName = options.NodeId);
            ConfigureCollection(silo, options);
        });
        var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        return new TestEngine(host);
    }

    /// <summary>The engine's services as the server registers them, over the given store and bot.</summary>
    public static void AddEngine(IServiceCollection services, ITurnStore store, IChatClient bot, EngineOptions options, TimeProvider time) =>
        AddEngine(services, _ => store, bot, _ => options, time);

    /// <summary>The engine's services, with the store and the options made from the silo's services.</summary>
    public static void AddEngine(IServiceCollection services, Func<IServiceProvider, ITurnStore> store, IChatClient bot, Func<IServiceProvider, EngineOptions> options, TimeProvider time)
    {
        services.AddSingleton(store);
        services.AddSingleton(bot);
        services.AddSingleton(options);
        services.AddSingleton(time);
        services.AddSingleton(_ => new EngineMetrics());
        services.AddSingleton<INodeDirectory, OrleansNodeDirectory>();
        services.AddSingleton(sp => new TurnProtocol(sp.GetRequiredService<ITurnStore>(), bot, sp.GetRequiredService<EngineOptions>(), time,
            sp.GetRequiredService<EngineMetrics>(), sp.GetRequiredService<INodeDirectory>(), NullLogger<TurnProtocol>.Instance));
        services.AddSingleton(sp => new ConversationClient(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<EngineOptions>(),
            sp.GetRequiredService<EngineMetrics>(), NullLogger<ConversationClient>.Instance));
        services.AddSingleton(sp => new PendingTurnRecovery(sp.GetRequiredService<ITurnStore>(), sp.GetRequiredService<TurnProtocol>(), NullLogger<PendingTurnRecovery>.Instance));
    }

    /// <summary>Idle collection after <see cref="EngineOptions.IdleTimeout"/>, checked often enough for short test timeouts.</summary>
    public static void ConfigureCollection(ISiloBuilder silo, EngineOptions options) => silo.Configure<GrainCollectionOptions>(collection =>
    {
        collection.CollectionAge = options.IdleTimeout;
        collection.CollectionQuantum = options.IdleTimeout < TimeSpan.FromMinutes(2) ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromMinutes(1);
    });

    public ChannelReader<TurnEvent> Send(TurnRequest request, CancellationToken aborted = default) => Client.Send(request, aborted);

    public Task<TurnResult> SendAndWaitAsync(TurnRequest request, CancellationToken aborted = default) => Client.SendAndWaitAsync(request, aborted);

    public EngineStatistics GetStatistics() => Client.GetStatistics();

    public Task<int> RecoverPendingTurnsAsync(CancellationToken cancellationToken) =>
        _host.Services.GetRequiredService<PendingTurnRecovery>().RecoverAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
    }
}
