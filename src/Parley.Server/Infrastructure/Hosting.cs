using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Parley.Engine;
using Parley.Engine.Storage;
using Parley.Server.Data;

namespace Parley.Server.Infrastructure;

/// <summary>Health, OpenAPI, security headers and diagnostics wiring.</summary>
public static class Hosting
{
    /// <summary>
    /// The OpenAPI document (served unless <c>OpenApi:Enabled</c> is false) with the bearer scheme declared and no
    /// <c>servers</c> entry: ASP.NET Core would fill it from the request's Host header, which a client controls.
    /// </summary>
    public static IServiceCollection AddParleyOpenApi(this IServiceCollection services)
    {
        services.AddOptions<OpenApiSettings>().BindConfiguration("OpenApi").ValidateDataAnnotations().ValidateOnStart();
        return services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Servers = [];
            document.Info = new OpenApiInfo
            {
                Title = "Parley API",
                Version = "v1",
                Description = "Accounts, conversations and strictly ordered chat turns. Errors are RFC 9457 problem details.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "Access token from POST /api/auth/login.",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] });
            return Task.CompletedTask;
        }));
    }

    /// <summary>Maps <c>/openapi/v1.json</c> and Swagger UI at <c>/swagger</c> when <c>OpenApi:Enabled</c> (default true).</summary>
    public static void MapParleyOpenApi(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<OpenApiSettings>>().Value.Enabled)
        {
            return;
        }

        app.MapOpenApi();
        app.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint("/openapi/v1.json", "Parley v1");
            options.RoutePrefix = "swagger";
        });
    }

    /// <summary>
    /// Trusts <c>X-Forwarded-For</c>/<c>-Proto</c> from loopback and the proxies and networks under
    /// <c>ForwardedHeaders</c> (validated at start), so the per-IP rate limit sees client addresses behind a proxy.
    /// </summary>
    public static IServiceCollection AddParleyForwardedHeaders(this IServiceCollection services)
    {
        services.AddOptions<ForwardedHeadersSettings>().BindConfiguration("ForwardedHeaders").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>((options, settings) =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            foreach (var proxy in settings.Value.KnownProxies)
            {
                options.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in settings.Value.KnownNetworks)
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        return services;
    }

    /// <summary>Liveness (<c>/healthz</c>, no dependencies) and readiness (<c>/readyz</c>, database reachable).</summary>
    public static IServiceCollection AddParleyHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddDbContextCheck<ParleyDbContext>("database", tags: ["ready"]);
        return services;
    }

    /// <summary>Maps <c>/healthz</c> and <c>/readyz</c>.</summary>
    public static void MapParleyHealthChecks(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).WithTags("Health");
        routes.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).WithTags("Health");
    }

    /// <summary>
    /// Security headers on every response: a CSP without inline scripts, <c>nosniff</c>, no framing
    /// (CSP <c>frame-ancestors</c>, OWASP Secure Headers Project). Added as the response starts, so the responses the
    /// exception handler writes after clearing the headers carry them too; use it before <c>UseExceptionHandler</c>.
    /// </summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var response = context.Response;
        response.OnStarting(() =>
        {
            var headers = response.Headers;
            headers.ContentSecurityPolicy =
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
                "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            return Task.CompletedTask;
        });
        return next(context);
    });

    /// <summary>Maps <c>GET /diagnostics/engine</c> (loopback callers only): resident conversations, counters, commits, cluster members, process memory.</summary>
    public static RouteHandlerBuilder MapDiagnostics(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/diagnostics/engine", Diagnostics).WithTags("Diagnostics").WithName("EngineDiagnostics")
            .WithSummary("Engine counters, cluster members and process memory; 404 unless called from loopback.");

    /// <summary>200 with <see cref="DiagnosticsDto"/>; 404 for non-loopback callers.</summary>
    public static Results<Ok<DiagnosticsDto>, NotFound> Diagnostics(
        HttpContext http, ConversationClient engine, SqlTurnStore store, Orleans.Runtime.IClusterMembershipService membership, IOptions<EngineOptions> options)
    {
        var remote = http.Connection.RemoteIpAddress;
        if (remote is not null && !IPAddress.IsLoopback(remote))
        {
            return TypedResults.NotFound();
        }

        using var process = Process.GetCurrentProcess();
        var statistics = engine.GetStatistics();
        var members = membership.CurrentSnapshot.Members.Values
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .Select(m => new ClusterMemberDto(m.Name, m.SiloAddress.ToString(), m.Status.ToString()))
            .ToList();
        return TypedResults.Ok(new DiagnosticsDto(
            statistics, store.CommitBatches, store.CommitOperations,
            process.WorkingSet64, GC.GetTotalMemory(false), GC.GetGCMemoryInfo().HeapSizeBytes,
            options.Value.NodeId, statistics.ResidentConversations, members));
    }
}

/// <summary>Engine, cluster and process diagnostics.</summary>
/// <param name="Engine">Engine counters.</param>
/// <param name="CommitBatches">Database transactions the group-commit writer made.</param>
/// <param name="CommitOperations">Turn halves it committed (operations ÷ batches = mean batch size).</param>
/// <param name="WorkingSetBytes">Process resident set size, bytes.</param>
/// <param name="ManagedBytes">Bytes allocated on the managed heap now.</param>
/// <param name="HeapSizeBytes">Managed heap size after the last GC, bytes.</param>
/// <param name="NodeId">This node (<c>Engine:NodeId</c>, also its silo name).</param>
/// <param name="Activations">Conversation grains activated on this node now.</param>
/// <param name="ClusterMembers">Every silo in this node's view of the membership, with its status (Active, Dead, …).</param>
public sealed record DiagnosticsDto(
    EngineStatistics Engine, long CommitBatches, long CommitOperations, long WorkingSetBytes, long ManagedBytes, long HeapSizeBytes,
    string NodeId, int Activations, IReadOnlyList<ClusterMemberDto> ClusterMembers);

/// <summary>One silo of the cluster as this node sees it.</summary>
/// <param name="Name">Its silo name (the node's <c>Engine:NodeId</c>).</param>
/// <param name="Address">Its silo address (endpoint and generation).</param>
/// <param name="Status">Its membership status: Joining, Active, ShuttingDown, Stopping, Dead.</param>
public sealed record ClusterMemberDto(string Name, string Address, string Status);
