using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>
/// The built web UI (the server project's wwwroot, made by the SPA build) travels compressed, with year-long immutable
/// caching for the content-hashed <c>/assets/*</c> and <c>no-cache</c> for <c>index.html</c>.
/// </summary>
public sealed partial class StaticFilesTests(SqliteFixture fixture) : ParleyTests<SqliteFixture>(fixture)
{
    [GeneratedRegex("src=\"(/assets/[^\"]+\\.js)\"")]
    private static partial Regex MainScript();

    private async Task<(HttpResponseMessage Response, byte[] Body)> GetAsync(string path, string? acceptEncoding)
    {
        using var client = Factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.AcceptEncoding.ParseAdd(acceptEncoding);
        }

        var response = await client.SendAsync(request, Cancel);
        return (response, await response.Content.ReadAsByteArrayAsync(Cancel));
    }

    private async Task<string> MainScriptPathAsync()
    {
        var (response, body) = await GetAsync("/", null);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var html = System.Text.Encoding.UTF8.GetString(body);
            var match = MainScript().Match(html);
            Assert.True(match.Success, $"index.html names no /assets/*.js script (is the SPA built into wwwroot?):\n{html}");
            return match.Groups[1].Value;
        }
    }

    [Fact]
    public async Task MainBundleTravelsBrotliCompressedAndIsCachedAsImmutable()
    {
        var script = await MainScriptPathAsync();
        var (plain, plainBody) = await GetAsync(script, null);
        var (brotli, brotliBody) = await GetAsync(script, "br, gzip");
        using (plain)
        using (brotli)
        {
            Assert.Equal(HttpStatusCode.OK, brotli.StatusCode);
            Assert.Equal(["br"], brotli.Content.Headers.ContentEncoding);
            Assert.Contains("Accept-Encoding", brotli.Headers.Vary);
            Assert.Equal("public, max-age=31536000, immutable", brotli.Headers.CacheControl?.ToString());
            Assert.Empty(plain.Content.Headers.ContentEncoding);
            Assert.Equal("public, max-age=31536000, immutable", plain.Headers.CacheControl?.ToString());

            using var decoded = new MemoryStream();
            await using (var stream = new BrotliStream(new MemoryStream(brotliBody), CompressionMode.Decompress))
            {
                await stream.CopyToAsync(decoded, Cancel);
            }

            Assert.Equal(plainBody, decoded.ToArray());
            Assert.True(brotliBody.Length * 3 < plainBody.Length, $"{brotliBody.Length} bytes compressed of {plainBody.Length}");
        }
    }

    [Fact]
    public async Task GzipIsUsedWhenBrotliIsNotAccepted()
    {
        var script = await MainScriptPathAsync();
        var (response, body) = await GetAsync(script, "gzip");
        using (response)
        {
            Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
            using var decoded = new MemoryStream();
            await using (var stream = new GZipStream(new MemoryStream(body), CompressionMode.Decompress))
            {
                await stream.CopyToAsync(decoded, Cancel);
            }

            Assert.True(decoded.Length > body.Length * 3);
        }
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/index.html")]
    [InlineData("/c/01a21b2e-b1fe-7e53-bee6-daf45ac13b73")]
    [InlineData("/s/AbCdEfGhIjKlMnOpQrSt-_9x")] // a share link: the SPA renders it without login (issue 12)
    public async Task IndexHtmlIsCompressedAndRevalidated(string path)
    {
        var (response, _) = await GetAsync(path, "br");
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(["br"], response.Content.Headers.ContentEncoding);
            Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        }
    }

    [Fact]
    public async Task ApiResponsesAreNotCompressed()
    {
        using var client = Factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users/me");
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("br"));

        using var response = await client.SendAsync(request, Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
    }
}
