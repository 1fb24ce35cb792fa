using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Parley.Server.Accounts;
using Parley.Server.Data;
using Parley.Server.Export;
using Parley.Server.Infrastructure;

namespace Parley.Server.Import;

/// <summary>Imports conversations: Parley's own export (<see cref="ExportApi"/>) or ChatGPT's <c>conversations.json</c>.</summary>
public static class ImportApi
{
    /// <summary>Maps <c>POST /api/conversations/import</c>.</summary>
    public static IEndpointRouteBuilder MapImport(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/conversations/import", Import).WithTags("Import").RequireAuthorization()
            .RequireRateLimiting(RateLimiting.BulkPolicy).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .Accepts<JsonElement>("application/json")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("ImportConversations")
            .WithSummary("Import a file (the request body): Parley's conversation or user export, or ChatGPT's conversations.json. All or nothing.");
        return routes;
    }

    /// <summary>
    /// Reads the request body as an import file and stores every conversation in it as new conversations of the caller
    /// (new ids; every branch with its parent links; original timestamps; the system prompt, and the model if this server offers it; nothing charged), in one transaction.
    /// 200 <c>{imported, conversationIds}</c>; 400 on <c>file</c> saying why (not JSON, truncated, not a known format, a
    /// broken tree) with nothing stored; 413 over <c>Import:MaxBytes</c>.
    /// </summary>
    public static async Task<Results<Ok<ImportResultDto>, ValidationProblem, ProblemHttpResult>> Import(
        HttpRequest request, ClaimsPrincipal principal, ParleyDbContext db, Parley.Engine.Bots.BotSettings bot, Microsoft.Extensions.Options.IOptions<ImportOptions> options,
        CancellationToken cancellationToken)
    {
        var maxBytes = options.Value.MaxBytes;
        if (request.ContentLength > maxBytes)
        {
            return Problems.Status(StatusCodes.Status413PayloadTooLarge, "Too large", $"The file is larger than {maxBytes} bytes.", "file");
        }

        // Kestrel's own body limit (30 MB by default) would otherwise cut a file the setting allows.
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        List<ImportedConversation> conversations;
        List<Guid> ids;
        try
        {
            using var buffer = new MemoryStream();
            await CopyAtMostAsync(request.Body, buffer, maxBytes, cancellationToken);
            buffer.Position = 0;
            using var document = await JsonDocument.ParseAsync(buffer, cancellationToken: cancellationToken);
            conversations = Read(document.RootElement);
            ids = ImportWriter.Add(db, principal.UserId(), conversations, bot.Models);
        }
        catch (JsonException e)
        {
            return Problems.Field("file", $"The file is not valid JSON (truncated or damaged): {e.Message}");
        }
        catch (ImportFormatException e)
        {
            return Problems.Field("file", e.Message);
        }

        if (conversations.Count == 0)
        {
            return Problems.Field("file", "The file holds no conversation.");
        }

        await db.SaveChangesAsync(cancellationToken); // one transaction: all or nothing
        return TypedResults.Ok(new ImportResultDto(ids.Count, ids));
    }

    private static List<ImportedConversation> Read(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Array)
        {
            return [.. root.EnumerateArray().Select(ChatGptFormat.Read)];
        }

        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("conversations", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            return [.. list.EnumerateArray().Select(ParleyFormat.Read)];
        }

        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("format", out _))
        {
            return [ParleyFormat.Read(root)];
        }

        throw new ImportFormatException("The file is neither a Parley export nor a ChatGPT conversations.json.");
    }

    private static async Task CopyAtMostAsync(Stream from, Stream to, long maxBytes, CancellationToken cancellationToken)
    {
        var chunk = new byte[81920];
        int read;
        while ((read = await from.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (to.Length + read > maxBytes)
            {
                throw new ImportFormatException($"The file is larger than {maxBytes} bytes.");
            }

            await to.WriteAsync(chunk.AsMemory(0, read), cancellationToken);
        }
    }
}

/// <summary>What an import stored.</summary>
/// <param name="Imported">How many conversations were created.</param>
/// <param name="ConversationIds">Their ids, in the file's order.</param>
public sealed record ImportResultDto(int Imported, IReadOnlyList<Guid> ConversationIds);
