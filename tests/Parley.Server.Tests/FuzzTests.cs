using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CsCheck;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// Property-based fuzzing (CsCheck) of every operation in the OpenAPI document: random bodies (missing, extra and
/// wrongly typed fields, unicode, long strings, malformed JSON), ids (own, foreign, random, not a guid), query values,
/// content types and credentials. Whatever the request: never a 5xx, errors are always <c>application/problem+json</c>,
/// and a rejected send changes no balance and stores nothing. On failure CsCheck shrinks the request and prints its seed.
/// </summary>
public abstract class FuzzTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    private const int Iterations = 1000;

    [Fact]
    public async Task RandomRequestsFromTheOpenApiDocumentNeverFailTheServer()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?> { ["Quota:InitialBalance"] = "1000000" });
        var user = await factory.CreateUserAsync();
        var own = await user.Client.CreateConversationAsync("fuzzed");
        var foreign = await (await factory.CreateUserClientAsync()).CreateConversationAsync("someone else's");
        await user.Client.SendAsync(own.Id, "a first message");
        using var anonymous = factory.CreateClient();
        var operations = Operation.ReadAll(JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json", Cancel)).RootElement);
        Assert.Contains(operations, o => o.Path == "/api/conversations/{id}/messages" && o.Method == "POST");

        var requests =
            from operation in Gen.OneOf([.. operations])
            from id in Gen.OneOf(Target.Own, Target.Foreign, Target.Random, Target.NotAGuid)
            from query in Gen.Select(Value.Query.Array[0, 3], values => values)
            from body in Body(operation)
            from contentType in Gen.Frequency((12, Gen.Const("application/json")), (1, Gen.Const("text/plain")), (1, Gen.Const("")))
            from authenticated in Gen.Frequency((9, Gen.Const(true)), (1, Gen.Const(false)))
            select new FuzzRequest(operation, id, [.. operation.Query.Zip(query, (name, value) => (name, value)).Where(p => p.value is not null)!], body, contentType, authenticated);

        await requests.SampleAsync(async request =>
        {
            var isSend = request.Operation.Method == "POST"
                && (request.Operation.Path == "/api/conversations/{id}/messages" || request.Operation.Path == "/api/chat");
            var before = isSend ? await SnapshotAsync(user.Client, own.Id) : default;
            var path = request.Operation.Path.Replace("{id}", request.Target switch
            {
                Target.Own when request.Operation.Method == "DELETE" => (await user.Client.CreateConversationAsync("to delete")).Id.ToString(),
                Target.Own => own.Id.ToString(),
                Target.Foreign => foreign.Id.ToString(),
                Target.Random => Guid.NewGuid().ToString(),
                _ => "not-a-guid",
            }, StringComparison.Ordinal);
            var query = string.Join('&', request.Query.Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}"));
            using var message = new HttpRequestMessage(new HttpMethod(request.Operation.Method), query.Length == 0 ? path : $"{path}?{query}");
            message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            if (request.Body is not null)
            {
                message.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(request.Body));
                message.Content.Headers.ContentType = request.ContentType.Length == 0 ? null : new MediaTypeHeaderValue(request.ContentType) { CharSet = "utf-8" };
            }

            using var response = await (request.Authenticated ? user.Client : anonymous).SendAsync(message, Cancel);

            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync(Cancel);
            Assert.True(status < 500, $"{status} for {request}: {text}\n{LogSink.Recent}");
            if (status >= 400)
            {
                Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json",
                    $"{status} as {response.Content.Headers.ContentType} for {request}: {text}");
            }

            if (isSend && status != 200)
            {
                Assert.Equal(before, await SnapshotAsync(user.Client, own.Id));
            }
        }, iter: Iterations, threads: 1);
    }

    /// <summary>What a rejected send must not change: the balance, the own conversation's messages, the newest conversation.</summary>
    private static async Task<(long Balance, long Messages, Guid? Newest)> SnapshotAsync(HttpClient client, Guid conversationId)
    {
        var balance = await client.GetBalanceAsync();
        var conversation = await client.GetConversationAsync(conversationId);
        using var list = await client.GetAsync("/api/conversations?limit=1", Cancel);
        var page = await list.ReadAsync<PageBody<ConversationBody>>();
        return (balance, conversation.MessageCount, page.Items.FirstOrDefault()?.Id);
    }

    /// <summary>A body for the operation: its schema's fields, each present or not, with values of any type; or malformed JSON.</summary>
    private static Gen<string?> Body(Operation operation)
    {
        if (operation.Fields.Count == 0)
        {
            return Gen.Frequency((6, Gen.Const((string?)null)), (1, Value.Malformed), (1, Gen.Const((string?)"{}")));
        }

        var fields =
            from values in Value.Json.Array[operation.Fields.Count, operation.Fields.Count]
            from present in Gen.Bool.Array[operation.Fields.Count, operation.Fields.Count]
            from extra in Gen.Frequency((5, Gen.Const("")), (1, Gen.Const(",\"unexpected\":[1,{\"a\":null}]")))
            select (string?)("{" + string.Join(',', operation.Fields.Select((name, i) => (name, i)).Where(f => present[f.i] || f.i == 0)
                .Select(f => $"{JsonSerializer.Serialize(f.name)}:{values[f.i]}")) + extra + "}");
        return Gen.Frequency((10, fields), (1, Value.Malformed), (1, Gen.Const((string?)null)));
    }

    private enum Target
    {
        Own,
        Foreign,
        Random,
        NotAGuid,
    }

    private sealed record FuzzRequest(Operation Operation, Target Target, (string Name, string? Value)[] Query, string? Body, string ContentType, bool Authenticated)
    {
        public override string ToString() =>
            $"{Operation.Method} {Operation.Path} id={Target} query=[{string.Join('&', Query.Select(q => $"{q.Name}={q.Value}"))}] " +
            $"type='{ContentType}' auth={Authenticated} body={(Body is { Length: > 300 } ? Body[..300] + $"…({Body.Length} chars)" : Body)}";
    }

    /// <summary>An operation of the OpenAPI document: method, path template, query parameters, body fields.</summary>
    private sealed record Operation(string Method, string Path, IReadOnlyList<string> Query, IReadOnlyList<string> Fields)
    {
        // Logout would end the fuzzing user's session: every later request would only test the 401.
        private static readonly HashSet<string> Excluded = ["POST /api/auth/logout"];

        public static List<Operation> ReadAll(JsonElement document)
        {
            var schemas = document.GetProperty("components").GetProperty("schemas");
            var operations = new List<Operation>();
            foreach (var path in document.GetProperty("paths").EnumerateObject())
            {
                foreach (var method in path.Value.EnumerateObject())
                {
                    var name = method.Name.ToUpperInvariant();
                    if (Excluded.Contains($"{name} {path.Name}") || !path.Name.StartsWith("/api/", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var query = method.Value.TryGetProperty("parameters", out var parameters)
                        ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()!).ToList()
                        : [];
                    // A body without declared properties (the import file: any JSON) is fuzzed with random fields only.
                    var fields = method.Value.TryGetProperty("requestBody", out var body) && FindReference(body) is { } reference
                        && schemas.GetProperty(reference.Split('/')[^1]).TryGetProperty("properties", out var properties)
                        ? properties.EnumerateObject().Select(p => p.Name).ToList()
                        : [];
                    operations.Add(new Operation(name, path.Name, query, fields));
                }
            }

            return operations;
        }

        public override string ToString() => $"{Method} {Path}";

        private static string? FindReference(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.Object => element.TryGetProperty("$ref", out var reference) ? reference.GetString()
                : element.EnumerateObject().Select(p => FindReference(p.Value)).FirstOrDefault(r => r is not null),
            JsonValueKind.Array => element.EnumerateArray().Select(FindReference).FirstOrDefault(r => r is not null),
            _ => null,
        };
    }

    /// <summary>Generators of JSON values and query values.</summary>
    private static class Value
    {
        private static readonly Gen<string> Text = Gen.Frequency(
            (6, Gen.String[0, 40]),
            (2, Gen.Char["abcXYZ019 _.-@"].Array[0, 40].Select(chars => new string(chars))),
            (1, Gen.Const("   ")),
            (1, Gen.Const("héllo 👋 مرحبا 你好 \u0000 \u202e <script>alert(1)</script>")),
            (1, Gen.Int[1, 40_000].Select(n => new string('x', n))),
            (1, Gen.Guid.Select(g => g.ToString())));

        /// <summary>A JSON value of any type (serialized).</summary>
        public static readonly Gen<string> Json = Gen.Frequency(
            (6, Text.Select(s => JsonSerializer.Serialize(s))),
            (2, Gen.Long.Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            (1, Gen.Bool.Select(b => b ? "true" : "false")),
            (1, Gen.Const("null")),
            (1, Gen.Const("1e400")),
            (1, Gen.Const("[\"a\",1]")),
            (1, Gen.Const("{\"nested\":{\"deeper\":[]}}")));

        /// <summary>A query value, or null for "absent".</summary>
        public static readonly Gen<string?> Query = Gen.Frequency(
            (3, Gen.Const((string?)null)),
            (2, Gen.Int.Select(n => (string?)n.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            (1, Gen.OneOf<string?>("", "0", "1", "100", "101", "200", "201", "-1", "99999999999999999999", "start", "end", "ten")),
            (2, Text.Select(s => (string?)s)));

        /// <summary>A body that is not a JSON object of the schema.</summary>
        public static readonly Gen<string?> Malformed = Gen.OneOf<string?>(
            "", "{", "{\"content\":", "[]", "null", "\"text\"", "42", "{\"content\":\"a\"}}", "\u00ff\u00fe", "{\"content\":\"\\ud800\"}");
    }
}

public sealed class FuzzOnSqlite(SqliteFixture fixture) : FuzzTests<SqliteFixture>(fixture);

public sealed class FuzzOnPostgreSql(PostgreSqlFixture fixture) : FuzzTests<PostgreSqlFixture>(fixture);
