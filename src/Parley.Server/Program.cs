using Microsoft.AspNetCore.Http.Metadata;
using Parley.Server.Accounts;
using Parley.Server.Admin;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Export;
using Parley.Server.Import;
using Parley.Server.Infrastructure;
using Parley.Server.Knowledge;
using Parley.Server.Models;
using Parley.Server.Retention;
using Parley.Server.Search;
using Parley.Server.Sharing;
using Parley.Server.Users;

// The content root is the application's directory unless configured: a published build finds its wwwroot and
// appsettings.json whatever the working directory (Infrastructure/ContentRoot.cs).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = ContentRoot.Default(args) });
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    // The default address; --urls, ASPNETCORE_URLS or URLS override it.
    builder.WebHost.UseUrls("http://localhost:5080");
}

// Behind a reverse proxy (deploy/nginx, deploy/k8s): client IPs (for the per-IP rate limit) come from X-Forwarded-For,
// trusted from loopback and ForwardedHeaders:KnownProxies / KnownNetworks.
builder.Services.AddParleyForwardedHeaders();
builder.Services.AddOptions<ParleyOptions>().BindConfiguration("Parley").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<DatabaseOptions>().BindConfiguration("Database").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddParleyKnowledge(builder.Configuration);
builder.Services.AddOptions<ImportOptions>().BindConfiguration("Import").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<TimeProvider>(MicrosecondTimeProvider.Instance);
builder.Services.ConfigureHttpJsonOptions(options =>
{
    options.SerializerOptions.TypeInfoResolverChain.Insert(0, ParleyJsonContext.Default);
    options.SerializerOptions.Converters.Add(new TextWithoutNulConverter());
});
builder.AddParleyDatabase();
builder.Services.AddParleyProblemDetails();
builder.Services.AddValidation(); // DataAnnotations on request bodies (e.g. Conversations/ConversationRequests.cs): 400 before the handler
builder.Services.AddParleyAuthentication();
builder.Services.AddParleyAdmin();
builder.Services.AddParleyRetention();
builder.Services.AddParleyRateLimiting();
builder.AddParleyEngine();
builder.AddParleyTelemetry();
builder.Services.AddParleyHealthChecks();
builder.Services.AddParleyOpenApi();
builder.Services.AddParleyStaticFiles();
builder.Services.AddSingleton(_ => new MessageTrees()); // long conversations' tree shapes between page reads

var app = builder.Build();
await app.MigrateDatabaseAsync(app.Lifetime.ApplicationStopping);
await app.BootstrapAdminsAsync(app.Lifetime.ApplicationStopping);

app.UseSecurityHeaders();
app.UseForwardedHeaders();
app.MapParleyMetrics();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseParleyStaticFiles();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

app.MapParleyOpenApi();
app.MapParleyHealthChecks();
app.MapDiagnostics();
app.MapAccounts();
app.MapUsers();
app.MapAdmin();
app.MapConversations();
app.MapChat();
app.MapModels();
app.MapSearch();
app.MapShares();
app.MapExport();
app.MapImport();
app.MapDocuments();
// The catch-alls declare that they consume JSON: a catch-all that accepts any content type would win routing for a POST
// without Content-Type (logout or create-conversation with no body) and for one with a wrong type (which should be 415)
// over the JSON endpoint itself — ASP.NET Core's AcceptsMatcherPolicy sends such requests to the "*/*" endpoints only.
var consumesJson = new AcceptsMetadata(["application/json"]);
app.MapFallback("/api/{**path}", () => Problems.NotFound("endpoint")).WithMetadata(consumesJson);
app.MapFallbackToFile("index.html", StaticFiles.Options).WithMetadata(consumesJson);

app.Run();

/// <summary>The web host's entry point (public for <c>WebApplicationFactory&lt;Program&gt;</c> in the tests).</summary>
public partial class Program;
