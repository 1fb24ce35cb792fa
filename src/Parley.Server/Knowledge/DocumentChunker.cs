using System.Text;
using Parley.Engine.Bots;

namespace Parley.Server.Knowledge;

/// <summary>
/// Splits a document's text into chunks of about <see cref="KnowledgeOptions.ChunkTokens"/> tokens (counted with the engine's
/// <see cref="ITokenCounter"/>): paragraphs (separated by blank lines) are packed whole while they fit; a Markdown heading
/// (a line starting with <c>#</c>) starts a new chunk unless the current one is still under a quarter full; a paragraph
/// larger than a chunk (less the overlap) is cut between words. Each chunk after the first starts with the last
/// <see cref="KnowledgeOptions.ChunkOverlapTokens"/> tokens (whole words) of the previous one.
/// </summary>
public sealed class DocumentChunker(ITokenCounter tokens, int chunkTokens, int overlapTokens)
{
    /// <summary>The chunks of <paramref name="text"/>, in order; empty when it holds only whitespace.</summary>
    public List<string> Split(string text)
    {
        var chunks = new List<string>();
        var current = new StringBuilder();
        var currentTokens = 0;
        var hasNew = false; // the current chunk holds more than the previous one's overlap
        foreach (var unit in Units(text))
        {
            var unitTokens = tokens.Count(unit);
            var isHeading = unit.StartsWith('#');
            var full = currentTokens + unitTokens > chunkTokens;
            var headingBreak = isHeading && currentTokens >= chunkTokens / 4;
            if (hasNew && (full || headingBreak))
            {
                var done = current.ToString();
                chunks.Add(done);
                current.Clear();
                var overlap = Tail(done);
                current.Append(overlap);
                currentTokens = overlap.Length == 0 ? 0 : tokens.Count(overlap);
                hasNew = false;
            }

            if (current.Length > 0)
            {
                current.Append("\n\n");
            }

            current.Append(unit);
            currentTokens += unitTokens;
            hasNew = true;
        }

        if (hasNew)
        {
            chunks.Add(current.ToString());
        }

        return chunks;
    }

    /// <summary>Paragraphs and heading lines, trimmed; any longer than a chunk cut between words.</summary>
    private IEnumerable<string> Units(string text)
    {
        var paragraph = new StringBuilder();
        foreach (var raw in text.ReplaceLineEndings("\n").Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.Length == 0 || line.TrimStart().StartsWith('#'))
            {
                foreach (var piece in Cut(paragraph.ToString().Trim()))
                {
                    yield return piece;
                }

                paragraph.Clear();
                if (line.Length == 0)
                {
                    continue;
                }

                yield return line.Trim();
                continue;
            }

            paragraph.Append(paragraph.Length == 0 ? "" : "\n").Append(line);
        }

        foreach (var piece in Cut(paragraph.ToString().Trim()))
        {
            yield return piece;
        }
    }

    private IEnumerable<string> Cut(string paragraph)
    {
        if (paragraph.Length == 0)
        {
            yield break;
        }

        var limit = chunkTokens - overlapTokens; // a piece after the previous chunk's overlap still fits a chunk
        if (tokens.Count(paragraph) <= limit)
        {
            yield return paragraph;
            yield break;
        }

        var piece = new StringBuilder();
        var pieceTokens = 0;
        foreach (var word in paragraph.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var wordTokens = tokens.Count(" " + word);
            if (piece.Length > 0 && pieceTokens + wordTokens > limit)
            {
                yield return piece.ToString();
                piece.Clear();
                pieceTokens = 0;
            }

            piece.Append(piece.Length == 0 ? "" : " ").Append(word);
            pieceTokens += wordTokens;
        }

        if (piece.Length > 0)
        {
            yield return piece.ToString();
        }
    }

    /// <summary>The last words of <paramref name="chunk"/> that fit the overlap, or "" without overlap.</summary>
    private string Tail(string chunk)
    {
        if (overlapTokens == 0)
        {
            return "";
        }

        var words = chunk.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var first = words.Length;
        var used = 0;
        while (first > 0)
        {
            var next = tokens.Count(" " + words[first - 1]);
            if (used + next > overlapTokens)
            {
                break;
            }

            used += next;
            first--;
        }

        return string.Join(' ', words[first..]);
    }
}
