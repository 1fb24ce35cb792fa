using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Parley.Bench.Client;

/// <summary>
/// The benchmark's view of the Parley REST API over one <see cref="HttpClient"/> with a <see cref="SocketsHttpHandler"/>
/// (no proxy, no cookies, no decompression, one HTTP/1.1 connection per concurrent request, long-lived pooled connections).
/// Setup calls (register, login, create) deserialize; the hot paths of the scenarios live in the scenarios and reuse buffers.
/// </summary>
internal sealed class ParleyClient : IDisposable
{
    /// <summary>The password every benchmark user gets (meets the server's policy).</summary>
    public const string Password = "Bench-Passw0rd!";

    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json") { CharSet = "utf-8" };
    private readonly SemaphoreSlim? _connectGate;
    private long _connectionsOpened;
    private ConnectBarrier? _barrier;

    /// <param name="baseAddress">The server, e.g. <c>http://127.0.0.1:5080/</c>.</param>
    /// <param name="maxConcurrentConnects">Connection attempts allowed at once (a burst of thousands overflows the listen backlog); null for no limit.</param>
    /// <param name="requestTimeout">Per-request timeout; a timed-out request counts as an error.</param>
    public ParleyClient(Uri baseAddress, int? maxConcurrentConnects = null, TimeSpan? requestTimeout = null)
    {
        _connectGate = maxConcurrentConnects is { } limit ? new SemaphoreSlim(limit, limit) : null;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionLifetime = TimeSpan.FromMinutes(30),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            ConnectTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = ConnectAsync,
        };
        Http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = baseAddress,
            Timeout = requestTimeout ?? TimeSpan.FromSeconds(60),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>The underlying client (shared by every worker of a scenario).</summary>
    public HttpClient Http { get; }

    /// <summary>TCP connections opened so far.</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _connectionsOpened);

    /// <summary>A JSON body from pre-serialized UTF-8 bytes (the content type header value is shared, never mutated).</summary>
    public static ByteArrayContent JsonBody(byte[] utf8Json)
    {
        var content = new ByteArrayContent(utf8Json);
        content.Headers.ContentType = JsonMediaType;
        return content;
    }

    /// <summary>Registers <paramref name="userName"/> (a 409 means it exists already, which is fine) and logs it in.</summary>
    public async Task<BenchUser> RegisterAndLoginAsync(string userName, CancellationToken cancellationToken)
    {
        using (var response = await PostJsonAsync("api/auth/register", new RegisterRequest(userName, null, Password), BenchJson.Default.RegisterRequest, null, cancellationToken))
        {
            if (response.StatusCode != HttpStatusCode.Conflict)
            {
                await EnsureSuccessAsync(response, "register", cancellationToken);
            }
        }

        var user = new BenchUser(userName, this);
        await user.LoginAsync(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/users/me");
        request.Headers.Authorization = await user.GetAuthorizationAsync(cancellationToken);
        using var me = await Http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(me, "get me", cancellationToken);
        user.Id = (await ReadJsonAsync(me, BenchJson.Default.UserDto, cancellationToken)).Id;
        return user;
    }

    /// <summary>Logs in and returns the token pair.</summary>
    public async Task<TokenPair> LoginAsync(string userName, CancellationToken cancellationToken)
    {
        using var response = await PostJsonAsync("api/auth/login", new LoginRequest(userName, Password), BenchJson.Default.LoginRequest, null, cancellationToken);
        await EnsureSuccessAsync(response, "login", cancellationToken);
        return await ReadJsonAsync(response, BenchJson.Default.TokenPair, cancellationToken);
    }

    /// <summary>Creates a conversation and returns its id.</summary>
    public async Task<Guid> CreateConversationAsync(BenchUser user, string? title, CancellationToken cancellationToken)
    {
        using var response = await PostJsonAsync("api/conversations", new CreateConversationRequest(title), BenchJson.Default.CreateConversationRequest,
            await user.GetAuthorizationAsync(cancellationToken), cancellationToken);
        await EnsureSuccessAsync(response, "create conversation", cancellationToken);
        return (await ReadJsonAsync(response, BenchJson.Default.ConversationDto, cancellationToken)).Id;
    }

    /// <summary>Gets a conversation.</summary>
    public async Task<ConversationDto> GetConversationAsync(BenchUser user, Guid conversationId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/conversations/{conversationId}");
        request.Headers.Authorization = await user.GetAuthorizationAsync(cancellationToken);
        using var response = await Http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, "get conversation", cancellationToken);
        return await ReadJsonAsync(response, BenchJson.Default.ConversationDto, cancellationToken);
    }

    /// <summary>Sends one turn (non-streaming) and returns it (setup path: allocates freely).</summary>
    public async Task<TurnResponse> SendTurnAsync(BenchUser user, Guid conversationId, string content, CancellationToken cancellationToken)
    {
        using var response = await PostJsonAsync($"api/conversations/{conversationId}/messages", new SendMessageRequest(content, null),
            BenchJson.Default.SendMessageRequest, await user.GetAuthorizationAsync(cancellationToken), cancellationToken);
        await EnsureSuccessAsync(response, "send message", cancellationToken);
        return await ReadJsonAsync(response, BenchJson.Default.TurnResponse, cancellationToken);
    }

    /// <summary>The URL of a page of messages.</summary>
    public static string MessagesUrl(Guid conversationId, int limit, string? cursor, string from) => cursor is null
        ? $"api/conversations/{conversationId}/messages?limit={limit}&from={from}"
        : $"api/conversations/{conversationId}/messages?limit={limit}&from={from}&cursor={Uri.EscapeDataString(cursor)}";

    /// <summary>Gets a page of messages.</summary>
    public async Task<MessagePage> GetMessagesAsync(BenchUser user, Guid conversationId, int limit, string? cursor, string from, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, MessagesUrl(conversationId, limit, cursor, from));
        request.Headers.Authorization = await user.GetAuthorizationAsync(cancellationToken);
        using var response = await Http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, "list messages", cancellationToken);
        return await ReadJsonAsync(response, BenchJson.Default.MessagePage, cancellationToken);
    }

    /// <summary><c>GET /diagnostics/engine</c> (the server answers loopback callers only).</summary>
    public async Task<EngineDiagnostics> GetDiagnosticsAsync(CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync("diagnostics/engine", cancellationToken);
        await EnsureSuccessAsync(response, "diagnostics", cancellationToken);
        return await ReadJsonAsync(response, BenchJson.Default.EngineDiagnostics, cancellationToken);
    }

    /// <summary>Throws with the status and the start of the body unless the response is a success.</summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException(
                $"{what} failed: {(int)response.StatusCode} {response.ReasonPhrase}: {(body.Length > 300 ? body[..300] : body)}", null, response.StatusCode);
        }
    }

    private async Task<HttpResponseMessage> PostJsonAsync<T>(string url, T body, JsonTypeInfo<T> type, AuthenticationHeaderValue? authorization, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonBody(JsonSerializer.SerializeToUtf8Bytes(body, type)) };
        request.Headers.Authorization = authorization;
        return await Http.SendAsync(request, cancellationToken);
    }

    private static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken)
            ?? throw new InvalidDataException($"Empty JSON body from {response.RequestMessage?.RequestUri}.");
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (_connectGate is not null)
        {
            await _connectGate.WaitAsync(cancellationToken);
        }

        var gateReleased = false;
        try
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                var endPoint = IPAddress.TryParse(context.DnsEndPoint.Host, out var address)
                    ? new IPEndPoint(address, context.DnsEndPoint.Port)
                    : (EndPoint)context.DnsEndPoint;
                await socket.ConnectAsync(endPoint, cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            Interlocked.Increment(ref _connectionsOpened);
            var stream = new NetworkStream(socket, ownsSocket: true);
            if (_barrier is { } barrier)
            {
                _connectGate?.Release();
                gateReleased = true;
                await barrier.ArriveAndWaitAsync(cancellationToken);
            }

            return stream;
        }
        finally
        {
            if (!gateReleased)
            {
                _connectGate?.Release();
            }
        }
    }

    /// <summary>
    /// Opens <paramref name="count"/> pooled connections: that many concurrent <c>GET /healthz</c>, with every new
    /// connection held back until all of them are connected, so no request can reuse another's connection.
    /// </summary>
    public async Task<long> OpenConnectionsAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var missing = (int)Math.Max(0, count - ConnectionsOpened);
        _barrier = new ConnectBarrier(missing, timeout);
        try
        {
            var health = new Uri(Http.BaseAddress!, "healthz");
            await Task.WhenAll(Enumerable.Range(0, missing).Select(async _ =>
            {
                using var response = await Http.GetAsync(health, cancellationToken);
                response.EnsureSuccessStatusCode();
            }));
        }
        finally
        {
            _barrier = null;
        }

        return ConnectionsOpened;
    }

    /// <summary>Releases every waiter once <c>target</c> have arrived (or after the timeout).</summary>
    private sealed class ConnectBarrier(int target, TimeSpan timeout)
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _arrived;

        public async Task ArriveAndWaitAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _arrived) >= target)
            {
                _all.TrySetResult();
            }

            try
            {
                await _all.Task.WaitAsync(timeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                _all.TrySetResult(); // fewer connections than asked for: go on with what there is
            }
        }
    }

    public void Dispose()
    {
        Http.Dispose();
        _connectGate?.Dispose();
    }
}

/// <summary>
/// A benchmark user and its bearer token. The token is renewed by logging in again shortly before it expires, so runs
/// longer than the access-token lifetime keep working against a server with the default 15-minute tokens.
/// </summary>
internal sealed class BenchUser(string userName, ParleyClient client)
{
    private ParleyClient _client = client;
    private readonly SemaphoreSlim _renewing = new(1, 1);
    private AuthenticationHeaderValue? _authorization;
    private long _renewAt;

    public string UserName { get; } = userName;

    /// <summary>Renews tokens through <paramref name="client"/> from now on (after the one it was created with is disposed).</summary>
    public void Use(ParleyClient client) => _client = client;

    /// <summary>The user's id (from <c>GET /api/users/me</c>).</summary>
    public Guid Id { get; set; }

    /// <summary>The current <c>Authorization</c> header (cached; renewed 60 s before the token expires).</summary>
    public ValueTask<AuthenticationHeaderValue> GetAuthorizationAsync(CancellationToken cancellationToken) =>
        _authorization is { } current && Environment.TickCount64 < Volatile.Read(ref _renewAt)
            ? ValueTask.FromResult(current)
            : new ValueTask<AuthenticationHeaderValue>(RenewAsync(cancellationToken));

    public async Task LoginAsync(CancellationToken cancellationToken)
    {
        var tokens = await _client.LoginAsync(UserName, cancellationToken);
        _authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        Volatile.Write(ref _renewAt, Environment.TickCount64 + Math.Max(10, tokens.ExpiresIn - 60) * 1000L);
    }

    private async Task<AuthenticationHeaderValue> RenewAsync(CancellationToken cancellationToken)
    {
        await _renewing.WaitAsync(cancellationToken);
        try
        {
            if (_authorization is null || Environment.TickCount64 >= Volatile.Read(ref _renewAt))
            {
                await LoginAsync(cancellationToken);
            }

            return _authorization!;
        }
        finally
        {
            _renewing.Release();
        }
    }
}

/// <summary>Reads a response body into a reusable buffer (no per-request allocation once the buffer is large enough).</summary>
internal sealed class BodyBuffer
{
    private byte[] _buffer = new byte[8 * 1024];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public async ValueTask ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        Length = 0;
        while (true)
        {
            if (Length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(Length), cancellationToken);
            if (read == 0)
            {
                return;
            }

            Length += read;
        }
    }

    public bool Contains(ReadOnlySpan<byte> utf8) => Span.IndexOf(utf8) >= 0;

    public override string ToString() => Encoding.UTF8.GetString(Span.Length > 300 ? Span[..300] : Span);
}
