using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;
using Parley.Engine;

namespace Parley.Server.Infrastructure;

/// <summary>The Orleans cluster this node's co-hosted silo joins (section <c>Cluster</c>).</summary>
public sealed class ClusterSettings
{
    /// <summary><c>Localhost</c> (default): a single node, embedded, nothing to install. <c>AdoNet</c>: nodes find each other through a membership table in PostgreSQL (<c>ConnectionStrings:Cluster</c>).</summary>
    [Required, RegularExpression("^(?i)(localhost|adonet)$", ErrorMessage = "Cluster:Provider must be Localhost or AdoNet.")]
    public string Provider { get; set; } = "Localhost";

    /// <summary>Nodes with the same cluster id form one cluster. Default <c>parley</c>.</summary>
    [Required]
    public string ClusterId { get; set; } = "parley";

    /// <summary>The service's stable identity across deployments. Default <c>parley</c>.</summary>
    [Required]
    public string ServiceId { get; set; } = "parley";

    /// <summary>Silo-to-silo port. Default 11111.</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Gateway port (Orleans clients outside the cluster). Default 30000.</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other nodes reach this one at (<c>AdoNet</c> only). Default: the first non-loopback IPv4 address.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>True for the <c>AdoNet</c> provider.</summary>
    public bool IsAdoNet => Provider.Equals("AdoNet", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Hosts the conversation engine on a co-hosted Orleans silo: the cluster membership (<c>Cluster:Provider</c>), the
/// failure detector's timing, idle collection and memory-pressure shedding of conversation grains.
/// </summary>
public static class ClusterSetup
{
    /// <summary>The <c>Retry-After</c> seconds sent with a 503 caused by an unavailable silo: about the time the cluster takes to notice a dead node.</summary>
    public const string RetryAfterSeconds = "2";

    /// <summary>
    /// Membership probes (AdoNet). Each silo probes 2 others once a second (<c>ProbeTimeout</c> 1 s); 3 missed probes in
    /// a row make it suspect the target, and an indirect probe through a third silo plus a second vote (with 3 nodes: both
    /// others) declare it dead. A SIGKILLed node is thus out after about 3–4 s; Orleans' defaults (5 s × 3) take 12–15 s.
    /// A healthy node is not evicted by a GC pause or a starved thread pool on a busy 2-core machine: it would have to
    /// miss 3 probes in a row (3 s of silence; GC pauses measured here are tens of ms), a prober that is itself degraded
    /// extends its timeouts, and the indirect probe must fail too.
    /// </summary>
    public static readonly (TimeSpan ProbeTimeout, int MissedProbes, int Votes) Probes = (TimeSpan.FromSeconds(1), 3, 2);

    /// <summary>Adds the silo (co-hosted with the web app), the data-directory lock and the cluster settings.</summary>
    /// <exception cref="InvalidOperationException">Another process holds the data directory, or <c>AdoNet</c> is asked for without a PostgreSQL connection string.</exception>
    public static WebApplicationBuilder AddParleyCluster(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var settings = configuration.GetSection("Cluster").Get<ClusterSettings>() ?? new ClusterSettings();
        Validator.ValidateObject(settings, new ValidationContext(settings), validateAllProperties: true);
        builder.Services.AddOptions<ClusterSettings>().BindConfiguration("Cluster").ValidateDataAnnotations().ValidateOnStart();

        // One process per data directory: a second one would open the same SQLite file with a second writer and, with
        // Localhost clustering, silently form a second cluster (two Orleans silos bind their ports without error).
        // Taken now (before migrations), released when the host is disposed: a factory registration, resolved by a
        // hosted service, so the container owns and disposes it.
        var dataLock = DataDirectoryLock.Acquire(Data.DataDirectory.Resolve(configuration));
        builder.Services.AddSingleton(_ => dataLock);
        builder.Services.AddHostedService<DataDirectoryLock.Holder>();

        string? clusterConnection = null;
        if (settings.IsAdoNet)
        {
            clusterConnection = NonEmpty(configuration.GetConnectionString("Cluster")) ?? NonEmpty(configuration.GetConnectionString("Parley"))
                ?? throw new InvalidOperationException("Cluster:Provider is AdoNet but neither ConnectionStrings:Cluster nor ConnectionStrings:Parley is set.");
            var onPostgreSql = configuration.GetSection("Database").Get<DatabaseOptions>()?.IsPostgreSql ?? false;
            if (!onPostgreSql && NonEmpty(configuration.GetConnectionString("Cluster")) is null)
            {
                throw new InvalidOperationException("Cluster:Provider AdoNet keeps its membership table in PostgreSQL: set Database:Provider=PostgreSQL or ConnectionStrings:Cluster.");
            }
        }

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(cluster =>
            {
                cluster.ClusterId = settings.ClusterId;
                cluster.ServiceId = settings.ServiceId;
            });
            if (clusterConnection is null)
            {
                silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort, serviceId: settings.ServiceId, clusterId: settings.ClusterId);
            }
            else
            {
                silo.UseAdoNetClustering(table =>
                {
                    table.Invariant = "Npgsql";
                    table.ConnectionString = clusterConnection;
                });
                silo.ConfigureEndpoints(AdvertisedAddress(settings), settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: true);
                silo.Configure<ClusterMembershipOptions>(membership =>
                {
                    membership.ProbeTimeout = Probes.ProbeTimeout;
                    membership.NumMissedProbesLimit = Probes.MissedProbes;
                    membership.NumVotesForDeathDeclaration = Probes.Votes;
                    membership.TableRefreshTimeout = TimeSpan.FromSeconds(5);
                    membership.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(30);
                });
            }

            if (Telemetry.IsTracing(configuration))
            {
                silo.AddActivityPropagation(); // a turn's trace continues into its grain, wherever it is activated
            }

            silo.Services.AddOptions<SiloOptions>().Configure<IOptions<EngineOptions>>((silo, engine) => silo.SiloName = engine.Value.NodeId);
            silo.Services.AddOptions<GrainCollectionOptions>().Configure<IOptions<EngineOptions>>((collection, engine) =>
            {
                collection.CollectionAge = engine.Value.IdleTimeout;
                collection.CollectionQuantum = Min(TimeSpan.FromMinutes(1), engine.Value.IdleTimeout / 2);
                collection.EnableActivationSheddingOnMemoryPressure = engine.Value.MemoryUsageLimitPercentage > 0;
                if (engine.Value.MemoryUsageLimitPercentage > 0)
                {
                    collection.MemoryUsageLimitPercentage = engine.Value.MemoryUsageLimitPercentage;
                    collection.MemoryUsageTargetPercentage = Math.Max(1, engine.Value.MemoryUsageLimitPercentage - 10);
                }
            });
            // A turn waits in its grain's queue and then runs the bot (up to TurnTimeout): do not time the call out first.
            silo.Services.AddOptions<SiloMessagingOptions>().Configure<IOptions<EngineOptions>>((messaging, engine) =>
                messaging.ResponseTimeout = Max(messaging.ResponseTimeout, engine.Value.TurnTimeout * 2 + TimeSpan.FromMinutes(1)));
        });
        return builder;
    }

    /// <summary>True for the exceptions Orleans throws when a silo is shutting down or a grain's node is gone (retryable: 503).</summary>
    public static bool IsUnavailable(Exception exception) => exception is SiloUnavailableException or OrleansMessageRejectionException
        or OrleansLifecycleCanceledException or TimeoutException
        || (exception is OrleansException && exception.InnerException is { } inner && IsUnavailable(inner));

    private static IPAddress AdvertisedAddress(ClusterSettings settings)
    {
        if (!string.IsNullOrWhiteSpace(settings.AdvertisedAddress))
        {
            return IPAddress.Parse(settings.AdvertisedAddress);
        }

        foreach (var network in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (network.OperationalStatus != OperationalStatus.Up || network.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var address in network.GetIPProperties().UnicastAddresses)
            {
                if (address.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address.Address))
                {
                    return address.Address;
                }
            }
        }

        return IPAddress.Loopback;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

/// <summary>An exclusive lock on <c>parley.lock</c> in the data directory, held for the process's lifetime (released by the OS if the process dies).</summary>
public sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    /// <summary>Takes the lock.</summary>
    /// <exception cref="InvalidOperationException">Another process (or host) holds it.</exception>
    public static DataDirectoryLock Acquire(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, "parley.lock");
        try
        {
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            file.SetLength(0);
            using (var writer = new StreamWriter(file, leaveOpen: true))
            {
                writer.Write(Environment.ProcessId);
            }

            file.Flush();
            return new DataDirectoryLock(file);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException(
                $"Another Parley process is already using the data directory {dataDirectory} (it holds {path}). " +
                "Stop it, or give this process its own Parley:DataDirectory; several nodes must share PostgreSQL and Cluster:Provider=AdoNet instead.", ex);
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _file.Dispose();

    /// <summary>Makes the host resolve (and so own and dispose) the lock.</summary>
    /// <param name="dataLock">The lock.</param>
    internal sealed class Holder(DataDirectoryLock dataLock) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.FromResult(dataLock);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
