using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Parley.Testing;

namespace Parley.Topology;

/// <summary>
/// PostgreSQL, <see cref="NodeCount"/> Parley nodes sharing it, and nginx in front of them, all as child processes on
/// 127.0.0.1. The nodes share one JWT signing key and differ by port and <c>Engine__NodeId</c>; a node can be killed
/// (SIGKILL) and restarted on the same port with the same NodeId, as a crashed pod comes back in Kubernetes.
/// </summary>
internal sealed class Topology : IAsyncDisposable
{
    public const int NodeCount = 3;

    private readonly PostgresCluster _postgres;
    private readonly string _directory;
    private readonly Node[] _nodes;
    private NginxProcess? _nginx;

    private Topology(PostgresCluster postgres, string connectionString, string directory, Node[] nodes)
    {
        _postgres = postgres;
        ConnectionString = connectionString;
        _directory = directory;
        _nodes = nodes;
    }

    /// <summary>The Npgsql connection string of the nodes' database.</summary>
    public string ConnectionString { get; }

    public IReadOnlyList<Node> Nodes => _nodes;

    public NginxProcess Nginx => _nginx ?? throw new InvalidOperationException("nginx is not started.");

    /// <summary>How long each part took to start.</summary>
    public string StartPhases { get; private set; } = "";

    /// <summary>Deadlocks PostgreSQL detected (and broke by aborting one transaction), counted in its log, with the first one's details.</summary>
    public (int Count, string Sample) ReadDeadlocks()
    {
        var log = Path.Combine(_postgres.RootDirectory, "postgres.log");
        try
        {
            using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var (count, sample, sampleLines) = (0, new System.Text.StringBuilder(), 0);
            while (reader.ReadLine() is { } line)
            {
                if (line.Contains("deadlock detected", StringComparison.Ordinal))
                {
                    count++;
                    sampleLines = count == 1 ? 12 : 0;
                }

                if (sampleLines-- > 0)
                {
                    sample.AppendLine(line.Length > 300 ? line[..300] : line);
                }
            }

            return (count, sample.ToString());
        }
        catch (IOException)
        {
            return (-1, "");
        }
    }

    /// <summary>Starts PostgreSQL, then every node at once (they migrate the empty database concurrently), then nginx.</summary>
    /// <param name="settings">Settings every node gets (environment variable syntax), on top of the topology's own.</param>
    /// <param name="nginxBinary">The nginx binary.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<Topology> StartAsync(IReadOnlyDictionary<string, string> settings, string nginxBinary, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var postgres = await PostgresCluster.StartAsync(cancellationToken: cancellationToken);
        var postgresStarted = clock.Elapsed;
        var directory = Directory.CreateTempSubdirectory("parley-topology-").FullName;
        Topology? topology = null;
        try
        {
            var connectionString = await postgres.CreateDatabaseAsync("parley_topology", cancellationToken);
            var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            var clusterId = "topology-" + Guid.NewGuid().ToString("N")[..8];
            var nodes = Enumerable.Range(1, NodeCount).Select(i =>
            {
                var environment = new Dictionary<string, string?>(settings.ToDictionary(s => s.Key, s => (string?)s.Value))
                {
                    ["ASPNETCORE_ENVIRONMENT"] = "Production",
                    ["Database__Provider"] = "PostgreSQL",
                    ["ConnectionStrings__Parley"] = connectionString,
                    ["Jwt__SigningKey"] = signingKey,
                    ["Engine__NodeId"] = $"node-{i}",
                    ["Parley__DataDirectory"] = Directory.CreateDirectory(Path.Combine(directory, $"node-{i}")).FullName,
                    ["RateLimits__Enabled"] = "false",
                    // One Orleans cluster through the membership table in the same database; fixed ports per node, so
                    // a restarted node comes back at the same silo endpoint (a new generation).
                    ["Cluster__Provider"] = "AdoNet",
                    ["Cluster__ClusterId"] = clusterId,
                    ["Cluster__SiloPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
                    ["Cluster__GatewayPort"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
                    ["Cluster__AdvertisedAddress"] = "127.0.0.1",
                };
                return new Node($"node-{i}", FreePort.Next(), environment);
            }).ToArray();
            topology = new Topology(postgres, connectionString, directory, nodes);
            await Task.WhenAll(nodes.Select(node => node.StartAsync(cancellationToken)));
            var nodesStarted = clock.Elapsed;
            var template = Path.Combine(Repository.Root, "deploy", "nginx", "parley.conf");
            topology._nginx = await NginxProcess.StartAsync(nginxBinary, template, nodes.Select(n => n.Port).ToArray(), cancellationToken);
            topology.StartPhases = string.Create(CultureInfo.InvariantCulture,
                $"PostgreSQL {postgresStarted.TotalSeconds:F1} s, nodes {(nodesStarted - postgresStarted).TotalSeconds:F1} s, nginx {(clock.Elapsed - nodesStarted).TotalSeconds:F1} s");
            return topology;
        }
        catch
        {
            if (topology is not null)
            {
                await topology.DisposeAsync();
            }
            else
            {
                await postgres.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>Output of every node and nginx, for a failure message.</summary>
    public string Diagnostics() =>
        string.Join("\n\n", _nodes.Select(n => $"--- {n.NodeId} (last lines) ---\n{Tail(n.Output, 60)}"))
        + $"\n\n--- nginx ---\n{Tail(_nginx?.Diagnostics ?? "", 40)}";

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        if (_nginx is not null)
        {
            await _nginx.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _postgres.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a temporary directory.
        }
    }
}

/// <summary>One Parley node: its fixed port and settings, and the current process (a new one after each restart).</summary>
internal sealed class Node(string nodeId, int port, IReadOnlyDictionary<string, string?> environment) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<EngineCounters> _finishedLives = [];
    private readonly List<ServerProcess> _killed = [];
    private volatile ServerProcess? _process;
    private EngineCounters _current = EngineCounters.Zero;
    private string _lastOutput = "";

    public string NodeId { get; } = nodeId;

    public int Port { get; } = port;

    public Uri BaseAddress { get; } = new($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>True while a process runs (between start and kill).</summary>
    public bool IsUp => _process is { HasExited: false };

    public string Output => _process?.Output ?? _lastOutput;

    /// <summary>Engine counters summed over every life of this node: each killed process's last polled values plus the current one's.</summary>
    public EngineCounters Counters => Lives.Aggregate(EngineCounters.Zero, (sum, life) => sum + life);

    /// <summary>Engine counters of each life of this node, oldest first (the last one is the running process).</summary>
    public IReadOnlyList<EngineCounters> Lives
    {
        get
        {
            lock (_gate)
            {
                return [.. _finishedLives, _current];
            }
        }
    }

    /// <summary>Starts a process (again, after <see cref="Kill"/>) on the node's port with its NodeId; returns once /readyz answers.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_process is not null)
        {
            throw new InvalidOperationException($"{NodeId} is already running.");
        }

        _process = await ServerProcess.StartAsync(environment, Port, TimeSpan.FromSeconds(90), cancellationToken);
    }

    /// <summary>SIGKILL: no shutdown code runs, in-flight turns are cut wherever they are.</summary>
    public void Kill()
    {
        var process = _process ?? throw new InvalidOperationException($"{NodeId} is not running.");
        _process = null;
        process.Kill();
        _lastOutput = process.Output;
        _killed.Add(process);
        lock (_gate)
        {
            _finishedLives.Add(_current);
            _current = EngineCounters.Zero;
        }
    }

    /// <summary>Reads <c>/diagnostics/engine</c> and keeps the counters of this life; false when the node did not answer.</summary>
    public async Task<bool> PollCountersAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var life = _process;
        if (life is not { HasExited: false })
        {
            return false;
        }

        try
        {
            var diagnostics = await http.GetFromJsonAsync<DiagnosticsDto>(new Uri(BaseAddress, "diagnostics/engine"), Json.Options, cancellationToken);
            if (diagnostics?.Engine is { } engine)
            {
                lock (_gate)
                {
                    if (!ReferenceEquals(life, _process))
                    {
                        return false; // killed meanwhile: that life's counters were already closed
                    }

                    _current = new EngineCounters(engine.TurnsCompleted, engine.TurnsFailed, engine.Conflicts, engine.Recovered, engine.Replayed);
                }

                return true;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            // Down or busy: the previous values stand.
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            _lastOutput = process.Output;
            await process.DisposeAsync();
        }

        foreach (var killed in _killed)
        {
            await killed.DisposeAsync();
        }
    }
}

/// <summary>The engine counters the test reports (from <c>GET /diagnostics/engine</c>).</summary>
internal sealed record EngineCounters(long TurnsCompleted, long TurnsFailed, long Conflicts, long Recovered, long Replayed)
{
    public static readonly EngineCounters Zero = new(0, 0, 0, 0, 0);

    public static EngineCounters operator +(EngineCounters a, EngineCounters b) => new(
        a.TurnsCompleted + b.TurnsCompleted, a.TurnsFailed + b.TurnsFailed, a.Conflicts + b.Conflicts,
        a.Recovered + b.Recovered, a.Replayed + b.Replayed);
}
