using Parley.Server.Accounts;
using Parley.Server.Conversations;
using Parley.Server.Data;
using Parley.Server.Infrastructure;
using Parley.Server.Users;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddOptions<ParleyOptions>().BindConfiguration("Parley").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<DatabaseOptions>().BindConfiguration("Database").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<TimeProvider>(MicrosecondTimeProvider.Instance);
builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, ParleyJsonContext.Default));
builder.AddParleyDatabase();
builder.Services.AddParleyProblemDetails();
builder.Services.AddParleyAuthentication();
builder.Services.AddParleyRateLimiting(builder.Configuration);
builder.Services.AddParleyEngine(builder.Configuration);
builder.Services.AddParleyHealthChecks();
builder.Services.AddParleyOpenApi();

var app = builder.Build();
await app.MigrateDatabaseAsync(app.Lifetime.ApplicationStopping);

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseSecurityHeaders();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

app.MapOpenApi();
app.UseSwaggerUI(options =>
{
    options.SwaggerEndpoint("/openapi/v1.json", "Parley v1");
    options.RoutePrefix = "swagger";
});
app.MapParleyHealthChecks();
app.MapDiagnostics();
app.MapAccounts();
app.MapUsers();
app.MapConversations();
app.MapChat();
app.MapFallback("/api/{**path}", () => Problems.NotFound("endpoint"));
app.MapFallbackToFile("index.html");

app.Run();

/// <summary>The web host's entry point (public for <c>WebApplicationFactory&lt;Program&gt;</c> in the tests).</summary>
public partial class Program;
