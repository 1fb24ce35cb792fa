using System.Net;
using System.Text.Json;
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

        var second = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel));

        Assert.Contains("exited", second.Message, StringComparison.Ordinal);
        Assert.Contains("Another Parley process is already using the data directory", second.Message, StringComparison.Ordinal);
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

        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ServerProcess.StartAsync(environment, startTimeout: StartTimeout, cancellationToken: Cancel));

        Assert.Contains("exited", failed.Message, StringComparison.Ordinal); // it stopped, rather than serving as a lone Localhost node
        Assert.Contains("Failed to connect to 127.0.0.1", failed.Message, StringComparison.Ordinal);
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
}
