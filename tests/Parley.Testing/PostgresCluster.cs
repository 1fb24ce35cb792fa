using System.Globalization;

namespace Parley.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster for tests: <c>initdb</c> into a fresh temporary directory, <c>pg_ctl start</c> on a
/// free port of 127.0.0.1 (trust authentication, user <c>postgres</c>), and at dispose <c>pg_ctl -m immediate stop</c>
/// and deletion of the directory. Starts in about three seconds; create one per test run and a database per test class
/// with <see cref="CreateDatabaseAsync"/>.
/// </summary>
/// <remarks>
/// PostgreSQL refuses to run as root, so when the tests run as root the directory is handed to the <c>postgres</c>
/// account and the server tools run through <c>runuser -u postgres</c>. The cluster trades durability for speed
/// (<c>fsync=off</c>): it survives the death of its clients, not of the machine. Binaries are looked up with
/// <see cref="FindBinDirectory"/>.
/// </remarks>
public sealed class PostgresCluster : IAsyncDisposable
{
    /// <summary>Where Debian's <c>postgresql</c> package (version 15) installs the server binaries.</summary>
    public const string DefaultBinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>Environment variable that overrides <see cref="DefaultBinDirectory"/>.</summary>
    public const string BinDirectoryVariable = "PARLEY_PG_BIN";

    private const string OsUser = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly SemaphoreSlim _createGate = new(1, 1);
    private int _disposed;

    private PostgresCluster(string binDirectory, string rootDirectory, int port)
    {
        BinDirectory = binDirectory;
        RootDirectory = rootDirectory;
        Port = port;
    }

    /// <summary>The directory holding <c>initdb</c>, <c>pg_ctl</c> and <c>psql</c>.</summary>
    public string BinDirectory { get; }

    /// <summary>The temporary directory holding the cluster (<c>data/</c>), its Unix socket and its log (<c>postgres.log</c>).</summary>
    public string RootDirectory { get; }

    /// <summary>The TCP port the server listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>A connection string (Npgsql syntax) for the <c>postgres</c> maintenance database as superuser <c>postgres</c>.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    /// <summary>
    /// The PostgreSQL bin directory: <c>$PARLEY_PG_BIN</c> when set, else <see cref="DefaultBinDirectory"/>, else the
    /// newest <c>/usr/lib/postgresql/*/bin</c>; <see langword="null"/> when none holds <c>initdb</c> and <c>pg_ctl</c>.
    /// </summary>
    public static string? FindBinDirectory()
    {
        var configured = Environment.GetEnvironmentVariable(BinDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return HasTools(configured) ? configured : null;
        }

        if (HasTools(DefaultBinDirectory))
        {
            return DefaultBinDirectory;
        }

        const string root = "/usr/lib/postgresql";
        return Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(version => Path.Combine(version, "bin"))
                .Where(HasTools)
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), CultureInfo.InvariantCulture, out var v) ? v : 0)
                .FirstOrDefault()
            : null;
    }

    /// <summary>Creates and starts a cluster on a free loopback port.</summary>
    /// <param name="binDirectory">The PostgreSQL bin directory; <see cref="FindBinDirectory"/> when null.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="InvalidOperationException">No PostgreSQL binaries were found, or <c>initdb</c>/<c>pg_ctl</c> failed (the message holds their output).</exception>
    public static async Task<PostgresCluster> StartAsync(string? binDirectory = null, CancellationToken cancellationToken = default)
    {
        binDirectory ??= FindBinDirectory() ?? throw new InvalidOperationException(
            $"No PostgreSQL server binaries (initdb, pg_ctl) in {DefaultBinDirectory} or ${BinDirectoryVariable}: install Debian's 'postgresql' package.");

        var root = Directory.CreateTempSubdirectory("parley-pg-").FullName;
        try
        {
            if (Command.IsRoot)
            {
                await Command.RunAsync("chown", [$"{OsUser}:{OsUser}", root], CommandTimeout, cancellationToken);
            }

            var data = Path.Combine(root, "data");
            await RunAsUserAsync(Path.Combine(binDirectory, "initdb"),
                ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], cancellationToken);

            // Another process may take the port between FreePort and the bind: retry on a new one.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort.Next();
                var options = string.Join(' ',
                    $"-p {port}", $"-k {root}", "-c listen_addresses=127.0.0.1", "-c max_connections=500",
                    "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off");
                try
                {
                    await RunAsUserAsync(Path.Combine(binDirectory, "pg_ctl"),
                        ["-w", "-t", "60", "-D", data, "-l", Path.Combine(root, "postgres.log"), "-o", options, "start"], cancellationToken);
                    return new PostgresCluster(binDirectory, root, port);
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                    // Most likely the port was taken; the log says why.
                }
            }
        }
        catch
        {
            TryDelete(root);
            throw;
        }
    }

    /// <summary>Creates an empty database and returns an Npgsql connection string for it.</summary>
    /// <param name="name">The database name (letters, digits, underscores); a unique <c>parley_…</c> name when null.</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns>
    /// <c>Host=127.0.0.1;Port=…;Username=postgres;Database=…</c> plus a short idle lifetime for pooled connections, so the
    /// pools of disposed test hosts give their server connections back within seconds.
    /// </returns>
    /// <exception cref="ArgumentException">The name is not a plain identifier.</exception>
    public async Task<string> CreateDatabaseAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        name ??= "parley_" + Guid.NewGuid().ToString("N");
        if (name.Length is 0 or > 63 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException("A database name must be 1 to 63 ASCII letters, digits or underscores.", nameof(name));
        }

        // CREATE DATABASE copies template1; serialize them so two never contend for it.
        await _createGate.WaitAsync(cancellationToken);
        try
        {
            await Command.RunAsync(Path.Combine(BinDirectory, "psql"),
                ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", "postgres",
                 "-v", "ON_ERROR_STOP=1", "-q", "-c", $"CREATE DATABASE \"{name}\""],
                CommandTimeout, cancellationToken);
        }
        finally
        {
            _createGate.Release();
        }

        return ConnectionString(name);
    }

    /// <summary>Stops the server at once (<c>pg_ctl -m immediate stop</c>) and deletes its directory. Never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await RunAsUserAsync(Path.Combine(BinDirectory, "pg_ctl"),
                ["-D", Path.Combine(RootDirectory, "data"), "-m", "immediate", "-w", "stop"], CancellationToken.None);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            // Already stopped, or its directory is gone: nothing left to stop.
        }

        TryDelete(RootDirectory);
        _createGate.Dispose();
    }

    private string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database={database};" +
        "Connection Idle Lifetime=10;Connection Pruning Interval=5";

    private static Task<string> RunAsUserAsync(string fileName, string[] arguments, CancellationToken cancellationToken)
    {
        var (file, args) = Command.AsUser(OsUser, fileName, arguments);
        return Command.RunAsync(file, args, CommandTimeout, cancellationToken);
    }

    private static bool HasTools(string bin) =>
        File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")) && File.Exists(Path.Combine(bin, "psql"));

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: it is a temporary directory.
        }
    }
}
