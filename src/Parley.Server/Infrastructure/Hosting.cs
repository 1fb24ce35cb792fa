using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Microsoft.OpenApi;
using Parley.Engine;
using Parley.Engine.Storage;
using Parley.Server.Accounts;
using Parley.Server.Data;

namespace Parley.Server.Infrastructure;

/// <summary>Accounts, authentication, health, OpenAPI, security headers and diagnostics wiring.</summary>
public static class Hosting
{
    /// <summary>ASP.NET Core Identity (users, hashing, lockout) and JWT bearer authentication with session revocation.</summary>
    public static IServiceCollection AddParleyAuthentication(this IServiceCollection services)
    {
        services.AddOptions<JwtOptions>().BindConfiguration("Jwt").ValidateDataAnnotations()
            .Validate(jwt => string.IsNullOrWhiteSpace(jwt.SigningKey) || SigningKey.IsValid(jwt.SigningKey),
                "Jwt:SigningKey must be base64 of at least 256 bits (32 bytes).")
            .ValidateOnStart();
        services.AddOptions<QuotaOptions>().BindConfiguration("Quota").ValidateDataAnnotations().ValidateOnStart();
        services.AddIdentityCore<User>(options =>
            {
                // The seeds' password policy: at least 8 characters with upper, lower, digit and symbol.
                options.Password.RequiredLength = 8;
                options.Password.RequireUppercase = true;
                options.Password.RequireLowercase = true;
                options.Password.RequireDigit = true;
                options.Password.RequireNonAlphanumeric = true;
                options.Password.RequiredUniqueChars = 1;
                options.User.AllowedUserNameCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
                options.User.RequireUniqueEmail = false; // email is optional; uniqueness is checked and indexed
                options.Lockout.MaxFailedAccessAttempts = 5;
                options.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(5);
                options.Lockout.AllowedForNewUsers = true;
            })
            .AddEntityFrameworkStores<ParleyDbContext>();

        services.AddSingleton<LoginLockout>();
        services.AddSingleton<RefreshGrace>();
        services.AddSingleton<SigningKey>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<RevokedSessions>();
        services.AddHostedService(sp => sp.GetRequiredService<RevokedSessions>());

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<JwtOptions>, SigningKey>((bearer, jwt, key) =>
            {
                bearer.MapInboundClaims = false;
                bearer.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidIssuer = jwt.Value.Issuer,
                    ValidateAudience = true,
                    ValidAudience = jwt.Value.Audience,
                    ValidateLifetime = true,
                    ClockSkew = TimeSpan.FromSeconds(30),
                    ValidateIssuerSigningKey = true,
                    IssuerSigningKey = key.Key,
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    NameClaimType = "unique_name",
                };
                bearer.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        if (!Guid.TryParse(context.Principal?.FindFirst("sub")?.Value, out _))
                        {
                            context.Fail("The token names no user."); // else the handlers' UserId() throws: 500
                            return Task.CompletedTask;
                        }

                        var sid = context.Principal?.FindFirst(TokenService.SessionClaim)?.Value;
                        var revoked = context.HttpContext.RequestServices.GetRequiredService<RevokedSessions>();
                        if (!Guid.TryParse(sid, out var sessionId) || revoked.IsRevoked(sessionId))
                        {
                            context.Fail("The session was logged out.");
                        }

                        return Task.CompletedTask;
                    },
                    OnChallenge = async context =>
                    {
                        // Answer 401 with problem details instead of an empty body.
                        context.HandleResponse();
                        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                        context.Response.Headers.WWWAuthenticate = "Bearer";
                        var problems = context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
                        await problems.WriteAsync(new ProblemDetailsContext
                        {
                            HttpContext = context.HttpContext,
                            ProblemDetails =
                            {
                                Status = StatusCodes.Status401Unauthorized,
                                Title = "Unauthorized",
                                Detail = "A valid access token is required (Authorization: Bearer <token>).",
                            },
                        });
                    },
                };
            });
        services.AddAuthorization();
        return services;
    }

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

    /// <summary>Maps <c>GET /diagnostics/engine</c> (loopback callers only): resident contexts, hit/miss counters, commits, process memory.</summary>
    public static RouteHandlerBuilder MapDiagnostics(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/diagnostics/engine", Diagnostics).WithTags("Diagnostics").WithName("EngineDiagnostics")
            .WithSummary("Engine counters and process memory; 404 unless called from loopback.");

    /// <summary>200 with <see cref="DiagnosticsDto"/>; 404 for non-loopback callers.</summary>
    public static Results<Ok<DiagnosticsDto>, NotFound> Diagnostics(HttpContext http, ConversationEngine engine, SqlTurnStore store)
    {
        var remote = http.Connection.RemoteIpAddress;
        if (remote is not null && !IPAddress.IsLoopback(remote))
        {
            return TypedResults.NotFound();
        }

        using var process = Process.GetCurrentProcess();
        return TypedResults.Ok(new DiagnosticsDto(
            engine.GetStatistics(), store.CommitBatches, store.CommitOperations,
            process.WorkingSet64, GC.GetTotalMemory(false), GC.GetGCMemoryInfo().HeapSizeBytes));
    }
}

/// <summary>Engine and process diagnostics.</summary>
/// <param name="Engine">Engine counters.</param>
/// <param name="CommitBatches">Database transactions the group-commit writer made.</param>
/// <param name="CommitOperations">Turn halves it committed (operations ÷ batches = mean batch size).</param>
/// <param name="WorkingSetBytes">Process resident set size, bytes.</param>
/// <param name="ManagedBytes">Bytes allocated on the managed heap now.</param>
/// <param name="HeapSizeBytes">Managed heap size after the last GC, bytes.</param>
public sealed record DiagnosticsDto(EngineStatistics Engine, long CommitBatches, long CommitOperations, long WorkingSetBytes, long ManagedBytes, long HeapSizeBytes);
