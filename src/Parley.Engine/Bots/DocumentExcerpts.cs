using System.Text;
using System.Text.Json;

namespace Parley.Engine.Bots;

/// <summary>Where a piece of a reply's context came from: one chunk of one of the user's documents.</summary>
/// <param name="DocumentId">The document.</param>
/// <param name="Title">The document's title when the excerpt was retrieved.</param>
/// <param name="ChunkIndex">The chunk's position in the document, from 0.</param>
[GenerateSerializer, Immutable]
public sealed record MessageSource(Guid DocumentId, string Title, int ChunkIndex)
{
    /// <summary>The sources as the JSON array stored in <c>Messages.Sources</c>: <c>[{"documentId","title","chunkIndex"}]</c>; null for none.</summary>
    public static string? ToJson(IReadOnlyList<MessageSource>? sources)
    {
        if (sources is not { Count: > 0 })
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var source in sources)
            {
                writer.WriteStartObject();
                writer.WriteString("documentId", source.DocumentId);
                writer.WriteString("title", source.Title);
                writer.WriteNumber("chunkIndex", source.ChunkIndex);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads what <see cref="ToJson"/> wrote; null for null or empty text.</summary>
    public static IReadOnlyList<MessageSource>? FromJson(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        var sources = new List<MessageSource>();
        foreach (var item in document.RootElement.EnumerateArray())
        {
            sources.Add(new MessageSource(
                item.GetProperty("documentId").GetGuid(), item.GetProperty("title").GetString() ?? "", item.GetProperty("chunkIndex").GetInt32()));
        }

        return sources;
    }
}

/// <summary>A passage of the user's documents retrieved for a turn.</summary>
/// <param name="Source">Which document and chunk.</param>
/// <param name="Text">The chunk's text.</param>
public sealed record DocumentExcerpt(MessageSource Source, string Text);

/// <summary>
/// The retrieval stage before generation: finds the passages of the user's own documents that answer a message. The engine
/// calls it (outside the group-commit writer, before the turn is charged) for conversations with <c>useDocuments</c> on;
/// the server implements it over its document index. Excerpts go into the prompt as one system message after the
/// system prompt (<see cref="TurnPrompt"/>); the reply records their <see cref="MessageSource"/>s.
/// </summary>
public interface IPromptAugmenter
{
    /// <summary>The passages most relevant to <paramref name="userText"/>, best first (at most the server's <c>Knowledge:TopK</c>); empty when none match.</summary>
    /// <param name="userId">The owner: only their documents are searched.</param>
    /// <param name="userText">The user message being answered.</param>
    /// <param name="cancellationToken">Cancelled when the client leaves.</param>
    Task<IReadOnlyList<DocumentExcerpt>> FindExcerptsAsync(Guid userId, string userText, CancellationToken cancellationToken);
}
