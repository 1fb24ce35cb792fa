using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Parley.Engine;
using Parley.Server.Tests.Infrastructure;
using Parley.Testing;

namespace Parley.Server.Tests;

/// <summary>The co-hosted Orleans silo: one process per data directory, no silent fallback from AdoNet, the cluster in the diagnostics.</summary>
public sealed class ClusterHostTests(SqliteFixture fixture) : ParleyTests<SqliteFixture>(fixture)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task ASecondProcessOnTheSameDataDirectoryRefusesToStart()
    {
        var database = await Fixture.CreateDatabaseAsync();
        var environment = database.Environment();
        environment["Jwt__SigningKey"] = TokenForge.RandomKey();
        await using var first = await ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel);

        var second = await Assert.ThrowsAsync<ServerExitedException>(() =>
            ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel));

        Assert.NotEqual(0, second.ExitCode);
        Assert.Contains("Another Parley process is already using the data directory", second.Output, StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = first.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz", Cancel)).StatusCode); // the first one is untouched
    }

    [Fact]
    public async Task AnAdoNetClusterWhoseDatabaseIsUnreachableFailsAtStart()
    {
        var database = await Fixture.CreateDatabaseAsync();
        var environment = database.Environment();
        environment["Jwt__SigningKey"] = TokenForge.RandomKey();
        environment["Cluster__Provider"] = "AdoNet";
        environment["ConnectionStrings__Cluster"] = $"Host=127.0.0.1;Port={FreePort.Next()};Username=parley;Timeout=2";

        // It stops, rather than serving as a lone Localhost node.
        var failed = await Assert.ThrowsAsync<ServerExitedException>(() =>
            ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel));

        Assert.NotEqual(0, failed.ExitCode);
        Assert.Contains("Failed to connect to 127.0.0.1", failed.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiagnosticsListTheClusterMembersAndThisNodesActivations()
    {
        var client = await Factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();
        await client.SendAsync(conversation.Id, "activate me");
        using var anonymous = Factory.CreateClient();

        using var response = await anonymous.GetAsync("/diagnostics/engine", Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));
        var root = body.RootElement;
        Assert.Equal(ParleyFactory.NodeId, root.GetProperty("nodeId").GetString());
        Assert.True(root.GetProperty("activations").GetInt32() >= 1);
        var member = Assert.Single(root.GetProperty("clusterMembers").EnumerateArray());
        Assert.Equal((ParleyFactory.NodeId, "Active"), (member.GetProperty("name").GetString(), member.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task AnUnavailableSiloAnswers503WithRetryAfterNever500()
    {
        // The grains' silo is gone (shutting down, or its node died): every grain call throws what Orleans throws then.
        await using var factory = await Fixture.StartFactoryAsync(configureServices: services => services.AddSingleton(sp => new ConversationClient(
            UnavailableGrains.Create(), sp.GetRequiredService<IOptions<EngineOptions>>().Value, sp.GetRequiredService<EngineMetrics>(),
            NullLogger<ConversationClient>.Instance)));
        var client = await factory.CreateUserClientAsync();
        var conversation = await client.CreateConversationAsync();

        using var json = await client.PostMessageAsync(conversation.Id, "anyone there?");
        using var streaming = await client.PostMessageStreamingAsync(conversation.Id, "anyone there?", Cancel);
        using var deleted = await client.DeleteAsync($"/api/conversations/{conversation.Id}", Cancel);

        foreach (var response in new[] { json, streaming, deleted })
        {
            await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Equal("2", Assert.Single(response.Headers.GetValues("Retry-After")));
        }

        Assert.Equal(4000, await client.GetBalanceAsync());
    }

    /// <summary>An <see cref="IGrainFactory"/> whose conversation grains all throw <see cref="SiloUnavailableException"/>.</summary>
    private class UnavailableGrains : DispatchProxy
    {
        public static IGrainFactory Create() => Create<IGrainFactory, UnavailableGrains>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod is { Name: nameof(IGrainFactory.GetGrain), IsGenericMethod: true } && targetMethod.ReturnType == typeof(IConversationGrain)
                ? DispatchProxy.Create<IConversationGrain, UnavailableGrain>()
                : throw new NotSupportedException(targetMethod?.Name);
    }

    /// <summary>A conversation grain on a silo that is gone.</summary>
    private class UnavailableGrain : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var failed = typeof(Task).GetMethod(nameof(Task.FromException), 1, [typeof(Exception)])!
                .MakeGenericMethod(targetMethod!.ReturnType.IsGenericType ? targetMethod.ReturnType.GetGenericArguments()[0] : typeof(object));
            var exception = new SiloUnavailableException("The silo is shutting down (test fault).");
            return targetMethod.ReturnType.IsGenericType ? failed.Invoke(null, [exception]) : Task.FromException(exception);
        }
    }
}
