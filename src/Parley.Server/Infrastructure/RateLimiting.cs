using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Server.Accounts;
using Parley.Engine;

namespace Parley.Server.Infrastructure;

/// <summary>
/// Rate limits: per client IP on the auth endpoints and on anonymous share reads, per user on costly requests (ASP.NET
/// Core's limiter, per node), per user on sends (counted cluster-wide by the user's grain). Rejections are 429 problem
/// details with <c>Retry-After</c> (RFC 9110 §10.2.3).
/// </summary>
public static class RateLimiting
{
    /// <summary>The policy of costly requests: <see cref="RateLimitOptions.BulkPerMinute"/> per user (imports, document uploads, account exports, share links).</summary>
    public const string BulkPolicy = "bulk";

    /// <summary>The policy of reads without login: <see cref="RateLimitOptions.PublicPerMinute"/> per client IP (shared links).</summary>
    public const string PublicPolicy = "public";

    /// <summary>Adds the <c>auth</c> policy and the send limit's settings from <see cref="RateLimitOptions"/>.</summary>
    public static IServiceCollection AddParleyRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration("RateLimits").ValidateDataAnnotations().ValidateOnStart();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var http = context.HttpContext;
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Type = ProblemDetailsSetup.TooManyRequestsType,
                        Title = "Too many requests",
                        Detail = "The rate limit was exceeded; retry after the time in the Retry-After header.",
                    },
                });
            };

            static RateLimitOptions Settings(HttpContext http) => http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
            limiter.AddPolicy(AccountsApi.RateLimitPolicy, http => Settings(http) is var options && !options.Enabled
                ? RateLimitPartition.GetNoLimiter("off")
                : RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "local",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = options.AuthPerMinute, Window = TimeSpan.FromMinutes(1) }));
            limiter.AddPolicy(BulkPolicy, http => Settings(http) is var options && !options.Enabled
                ? RateLimitPartition.GetNoLimiter("off")
                : RateLimitPartition.GetFixedWindowLimiter(http.User.FindFirst("sub")?.Value ?? http.Connection.RemoteIpAddress?.ToString() ?? "local",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = options.BulkPerMinute, Window = TimeSpan.FromMinutes(1) }));
            limiter.AddPolicy(PublicPolicy, http => Settings(http) is var options && !options.Enabled
                ? RateLimitPartition.GetNoLimiter("off")
                : RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "local",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = options.PublicPerMinute, Window = TimeSpan.FromMinutes(1) }));
        });
        return services;
    }

    /// <summary>
    /// Limits sends to <c>RateLimits:MessagesPerMinute</c> per user across the whole cluster: the user's
    /// <see cref="IUserGrain"/> holds the budget, whichever node the request reached. Over it: 429 with <c>Retry-After</c>.
    /// </summary>
    public static TBuilder RequireMessageRateLimit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var options = http.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
            if (!options.Enabled || !Guid.TryParse(http.User.FindFirst("sub")?.Value, out var userId))
            {
                return await next(context);
            }

            var grains = http.RequestServices.GetRequiredService<IGrainFactory>();
            var permit = await grains.GetGrain<IUserGrain>(userId).TryTakeMessagePermitAsync(options.MessagesPerMinute);
            if (permit.Granted)
            {
                return await next(context);
            }

            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(permit.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return TypedResults.Problem(new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Type = ProblemDetailsSetup.TooManyRequestsType,
                Title = "Too many requests",
                Detail = "The rate limit was exceeded; retry after the time in the Retry-After header.",
            });
        });
}
