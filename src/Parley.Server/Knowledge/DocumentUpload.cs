using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Parley.Server.Infrastructure;

namespace Parley.Server.Knowledge;

/// <summary>A document to store, as <c>POST /api/documents</c> sends it in JSON (a multipart upload sends a <c>file</c> and an optional <c>title</c>).</summary>
/// <param name="Title">1–200 characters.</param>
/// <param name="Text">The document's text: not empty, at most <c>Knowledge:MaxBytes</c> UTF-8 bytes.</param>
public sealed record CreateDocumentRequest(string? Title, string? Text);

/// <summary>
/// Reads an upload into a title and a text: JSON <see cref="CreateDocumentRequest"/>, or <c>multipart/form-data</c> with a
/// <c>file</c> (text/plain, text/markdown, text/csv or another plain-text format: valid UTF-8 without NUL bytes) and an
/// optional <c>title</c> (default: the file name). Binary files, PDFs and other non-text types are a 415 on <c>file</c>.
/// </summary>
internal static class DocumentUpload
{
    /// <summary>Bytes a multipart body may carry beyond the text (boundaries, headers, the title).</summary>
    private const long MultipartOverhead = 16 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly string[] TextTypes = ["application/json", "application/xml", "application/x-yaml", "application/yaml", "application/x-ndjson"];

    /// <summary>The upload's title and text, or the problem: 400 on <c>title</c>/<c>text</c>/<c>file</c>, 413 over the limit, 415 for a binary file.</summary>
    public static async Task<(string Title, string Text)?> ReadAsync(
        HttpRequest request, long maxBytes, Action<IResult> fail, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes + MultipartOverhead)
        {
            fail(TooLarge(maxBytes));
            return null;
        }

        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes + MultipartOverhead;
        }

        string? title, text;
        string textField;
        if (request.HasFormContentType)
        {
            textField = "file";
            var form = await request.ReadFormAsync(cancellationToken);
            var file = form.Files.GetFile("file");
            if (file is null)
            {
                fail(Problems.Field("file", "Send the document as a form field named file (or JSON {title, text})."));
                return null;
            }

            if (file.Length > maxBytes)
            {
                fail(TooLarge(maxBytes));
                return null;
            }

            using var buffer = new MemoryStream();
            await file.CopyToAsync(buffer, cancellationToken);
            if (!IsTextType(file.ContentType) || !TryDecode(buffer.ToArray(), out text))
            {
                fail(Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported document type",
                    "The file must be plain text (UTF-8, e.g. .txt or .md); binary files and PDFs are not accepted.", "file"));
                return null;
            }

            title = form["title"].FirstOrDefault() is { Length: > 0 } given ? given : Path.GetFileName(file.FileName);
        }
        else if (request.HasJsonContentType())
        {
            textField = "text";
            CreateDocumentRequest? body;
            try
            {
                body = await JsonSerializer.DeserializeAsync(request.Body, ParleyJsonContext.Default.CreateDocumentRequest, cancellationToken);
            }
            catch (JsonException)
            {
                fail(Problems.Field("text", "The body is not valid JSON {title, text}."));
                return null;
            }

            (title, text) = (body?.Title, body?.Text);
        }
        else
        {
            fail(Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Send multipart/form-data with a file, or application/json {title, text}.", "file"));
            return null;
        }

        title = title?.Trim();
        if (string.IsNullOrEmpty(title) || title.Length > DocumentConfiguration.MaxTitleLength)
        {
            fail(Problems.Field("title", $"The title must be 1 to {DocumentConfiguration.MaxTitleLength} characters."));
            return null;
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            fail(Problems.Field(textField, "The document is empty."));
            return null;
        }

        if (title.Contains('\0', StringComparison.Ordinal) || text.Contains('\0', StringComparison.Ordinal))
        {
            fail(Problems.Field(title.Contains('\0', StringComparison.Ordinal) ? "title" : textField, "The character U+0000 is not allowed in text."));
            return null;
        }

        if (Encoding.UTF8.GetByteCount(text) > maxBytes)
        {
            fail(TooLarge(maxBytes));
            return null;
        }

        return (title, text);
    }

    private static ProblemHttpResult TooLarge(long maxBytes) => Problems.Status(StatusCodes.Status413PayloadTooLarge, "Too large",
        $"The document is larger than {maxBytes} bytes (Knowledge:MaxBytes).", "file");

    private static bool IsTextType(string? contentType)
    {
        var type = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        return type.Length == 0 || type == "application/octet-stream" || type.StartsWith("text/", StringComparison.Ordinal) || TextTypes.Contains(type);
    }

    /// <summary>Decodes strict UTF-8 (a BOM is dropped); false for invalid UTF-8 or a NUL byte, the marks of a binary file.</summary>
    private static bool TryDecode(byte[] bytes, out string? text)
    {
        text = null;
        if (Array.IndexOf(bytes, (byte)0) >= 0 || bytes.AsSpan().StartsWith("%PDF-"u8))
        {
            return false;
        }

        try
        {
            text = StrictUtf8.GetString(bytes).TrimStart('\uFEFF');
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
