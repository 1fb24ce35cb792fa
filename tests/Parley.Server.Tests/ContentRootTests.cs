using System.Net;
using System.Text.RegularExpressions;
using Parley.Server.Tests.Infrastructure;
using Parley.Testing;
using ServerContentRoot = Parley.Server.Infrastructure.ContentRoot;

namespace Parley.Server.Tests;

/// <summary>
/// The built server (<c>dotnet path/Parley.Server.dll</c>) serves its web UI and reads its <c>appsettings.json</c>
/// whatever directory it is started from: its content root is its own directory unless configured.
/// </summary>
public sealed partial class ContentRootTests(SqliteFixture fixture) : ParleyTests<SqliteFixture>(fixture)
{
    [GeneratedRegex("src=\"(/assets/[^\"]+\\.js)\"")]
    private static partial Regex MainScript();

    [Fact]
    public void AConfiguredContentRootWinsOverTheApplicationsDirectory()
    {
        Assert.Equal(AppContext.BaseDirectory, ServerContentRoot.Default([]));
        Assert.Null(ServerContentRoot.Default(["--contentRoot", "/srv/parley"]));
        Assert.Null(ServerContentRoot.Default(["--contentRoot=/srv/parley"]));
    }

    [Fact]
    public async Task TheBuiltServerStartedFromAnotherDirectoryServesItsWebUi()
    {
        var database = await Fixture.CreateDatabaseAsync();
        var elsewhere = Directory.CreateTempSubdirectory("parley-cwd-");
        try
        {
            var environment = database.Environment();
            environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            environment["Jwt__SigningKey"] = TokenForge.RandomKey();
            await using var server = await ServerProcess.StartAsync(
                new ServerOptions { Environment = environment, WorkingDirectory = elsewhere.FullName, StartTimeout = TimeSpan.FromMinutes(2) }, Cancel);
            using var http = new HttpClient { BaseAddress = server.BaseAddress };

            using var page = await http.GetAsync(new Uri("/", UriKind.Relative), Cancel);
            var html = await page.Content.ReadAsStringAsync(Cancel);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            var script = MainScript().Match(html);
            Assert.True(script.Success, $"index.html names no /assets/*.js script:\n{html}\n{server.Output}");

            using var bundle = await http.GetAsync(new Uri(script.Groups[1].Value, UriKind.Relative), Cancel);
            Assert.Equal(HttpStatusCode.OK, bundle.StatusCode);
            Assert.Equal("text/javascript", bundle.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("wwwroot", server.Output, StringComparison.OrdinalIgnoreCase); // no "WebRootPath not found" warning
        }
        finally
        {
            elsewhere.Delete(recursive: true);
        }
    }
}
