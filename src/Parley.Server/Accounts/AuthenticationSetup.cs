using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Parley.Server.Data;
using Parley.Server.Infrastructure;

namespace Parley.Server.Accounts;

/// <summary>Accounts and authentication wiring: Identity, JWT bearer, session revocation.</summary>
public static class AuthenticationSetup
{
    /// <summary>ASP.NET Core Identity (users, hashing, lockout) and JWT bearer authentication with session revocation.</summary>
    public static IServiceCollection AddParleyAuthentication(this IServiceCollection services)
    {
        services.AddOptions<JwtOptions>().BindConfiguration("Jwt").ValidateDataAnnotations()
            .Validate(jwt => string.IsNullOrWhiteSpace(jwt.SigningKey) || SigningKey.IsValid(jwt.SigningKey),
                "Jwt:SigningKey must be base64 of at least 256 bits (32 bytes).")
            .ValidateOnStart();
        services.AddOptions<QuotaOptions>().BindConfiguration("Quota").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RefillOptions>().BindConfiguration("Quota:Refill").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RefillService>();
        services.AddHostedService(sp => sp.GetRequiredService<RefillService>());
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
}
