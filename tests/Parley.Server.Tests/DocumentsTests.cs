using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;
using Parley.Server.Tests.Infrastructure;

namespace Parley.Server.Tests;

/// <summary>Issue 12, knowledge: uploading, listing, reading and deleting documents; isolation; bad inputs; the user cascade.</summary>
public abstract class DocumentsTests<TFixture>(TFixture fixture) : ParleyTests<TFixture>(fixture)
    where TFixture : ParleyFixture
{
    [Fact]
    public async Task UploadedDocumentIsListedReadAndDeletedWithItsChunks()
    {
        var client = await Factory.CreateUserClientAsync();

        var created = await UploadJsonAsync(client, "Notes", "First paragraph.\n\nSecond paragraph.");

        Assert.Equal(("Notes", 35L, 1), (created.Title, created.Bytes, created.Chunks));
        Assert.Equal([created.Id], (await ListAsync(client)).Select(d => d.Id));
        using (var read = await client.GetAsync($"/api/documents/{created.Id}", Cancel))
        {
            var detail = await read.ReadAsync<DocumentDetailBody>();
            Assert.Equal(["First paragraph.\n\nSecond paragraph."], detail.Chunks);
        }

        using (var deleted = await client.DeleteAsync($"/api/documents/{created.Id}", Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Empty(await ListAsync(client));
        Assert.Equal(0, await CountChunksAsync(Factory, created.Id));
        using var again = await client.GetAsync($"/api/documents/{created.Id}", Cancel);
        await again.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AMarkdownFileUploadIsTitledByItsFileName()
    {
        var client = await Factory.CreateUserClientAsync();
        using var form = FileForm("# Guide\n\nSome text.", "guide.md", "text/markdown");

        using var response = await client.PostAsync("/api/documents", form, Cancel);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.ReadAsync<DocumentBody>();
        Assert.Equal("guide.md", created.Title);
        Assert.Equal($"/api/documents/{created.Id}", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task AnotherUsersDocumentIsNotFound()
    {
        var alice = await Factory.CreateUserClientAsync();
        var bob = await Factory.CreateUserClientAsync();
        var secret = await UploadJsonAsync(alice, "Secret", "alice only");

        using (var read = await bob.GetAsync($"/api/documents/{secret.Id}", Cancel))
        {
            await read.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var delete = await bob.DeleteAsync($"/api/documents/{secret.Id}", Cancel))
        {
            await delete.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        Assert.Empty(await ListAsync(bob));
        Assert.Single(await ListAsync(alice));
    }

    [Theory]
    [InlineData("""{"title":"t","text":"   "}""", "text")]
    [InlineData("""{"title":"","text":"hello"}""", "title")]
    [InlineData("""{"text":"hello"}""", "title")]
    [InlineData("""{"title":"t","text":"a\u0000b"}""", "text")]
    public async Task BadJsonUploadsAreProblemsOnTheField(string body, string field)
    {
        var client = await Factory.CreateUserClientAsync();

        using var response = await client.PostRawAsync("/api/documents", body);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, field);
        Assert.Empty(await ListAsync(client));
    }

    [Fact]
    public async Task BinaryFilesAndPdfsAreRefusedWith415()
    {
        var client = await Factory.CreateUserClientAsync();

        using (var pdf = FileForm("%PDF-1.7 looks like text", "paper.pdf", "application/pdf"))
        using (var response = await client.PostAsync("/api/documents", pdf, Cancel))
        {
            await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "file");
        }

        using (var binary = new MultipartFormDataContent())
        {
            var bytes = new ByteArrayContent([0x89, 0x50, 0x4E, 0x47, 0x00, 0x01, 0xFF]);
            bytes.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            binary.Add(bytes, "file", "image.png");
            using var response = await client.PostAsync("/api/documents", binary, Cancel);
            await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "file");
        }

        Assert.Empty(await ListAsync(client));
    }

    [Fact]
    public async Task ADocumentOverMaxBytesIs413AndNothingIsStored()
    {
        await using var factory = await Fixture.StartFactoryAsync(new Dictionary<string, string?> { ["Knowledge:MaxBytes"] = "2048" });
        var client = await factory.CreateUserClientAsync();

        using (var json = await client.PostAsJsonAsync("/api/documents", new { title = "big", text = new string('a', 2049) }, Cancel))
        {
            await json.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "file");
        }

        using (var form = FileForm(new string('b', 4096), "big.txt", "text/plain"))
        using (var file = await client.PostAsync("/api/documents", form, Cancel))
        {
            await file.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "file");
        }

        Assert.Empty(await ListAsync(client));
        using var fits = await client.PostAsJsonAsync("/api/documents", new { title = "fits", text = new string('a', 2048) }, Cancel);
        Assert.Equal(HttpStatusCode.Created, fits.StatusCode);
    }

    [Fact]
    public async Task DeletingTheAccountDeletesItsDocumentsAndChunks()
    {
        var user = await Factory.CreateUserAsync();
        var document = await UploadJsonAsync(user.Client, "Mine", "some words to keep");

        using (var deleted = await user.Client.SendAsync(
            new HttpRequestMessage(HttpMethod.Delete, "/api/users/me") { Content = JsonContent.Create(new { password = user.Password }) }, Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await using var scope = Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
        Assert.False(await db.Documents.AnyAsync(d => d.Id == document.Id, Cancel));
        Assert.Equal(0, await CountChunksAsync(Factory, document.Id));
    }

    [Fact]
    public async Task DocumentsNeedALogin()
    {
        using var anonymous = Factory.CreateClient();

        using var response = await anonymous.GetAsync("/api/documents", Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    internal static MultipartFormDataContent FileForm(string text, string fileName, string contentType)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        form.Add(file, "file", fileName);
        return form;
    }

    internal static async Task<DocumentBody> UploadJsonAsync(HttpClient client, string title, string text)
    {
        using var response = await client.PostAsJsonAsync("/api/documents", new { title, text }, Cancel);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadAsync<DocumentBody>();
    }

    private static async Task<List<DocumentBody>> ListAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/documents", Cancel);
        return await response.ReadAsync<List<DocumentBody>>();
    }

    private static async Task<int> CountChunksAsync(ParleyFactory factory, Guid documentId)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
        return await db.DocumentChunks.CountAsync(c => c.DocumentId == documentId, Cancel);
    }
}

public sealed record DocumentBody(Guid Id, string Title, long Bytes, int Chunks, DateTimeOffset CreatedAt);

public sealed record DocumentDetailBody(Guid Id, string Title, long Bytes, DateTimeOffset CreatedAt, IReadOnlyList<string> Chunks);

public sealed class DocumentsOnSqlite(SqliteFixture fixture) : DocumentsTests<SqliteFixture>(fixture);

public sealed class DocumentsOnPostgreSql(PostgreSqlFixture fixture) : DocumentsTests<PostgreSqlFixture>(fixture);
