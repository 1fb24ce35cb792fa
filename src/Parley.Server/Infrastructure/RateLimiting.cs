using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Parley.Server.Accounts;
using Parley.Server.Conversations;

namespace Parley.Server.Infrastructure;

/// <summary>ASP.NET Core rate limiter policies: per client IP on the auth endpoints, per user on sends. Rejections are 429 problem details with <c>Retry-After</c> (RFC 9110 §10.2.3).</summary>
public static class RateLimiting
{
    /// <summary>Adds the <c>auth</c> and <c>messages</c> policies from <see cref="RateLimitOptions"/>.</summary>
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
            limiter.AddPolicy(ConversationsApi.SendRateLimitPolicy, http => Settings(http) is var options && !options.Enabled
                ? RateLimitPartition.GetNoLimiter("off")
                : RateLimitPartition.GetTokenBucketLimiter(http.User.FindFirst("sub")?.Value ?? "anonymous",
                    _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = options.MessagesPerMinute,
                        TokensPerPeriod = options.MessagesPerMinute,
                        ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                        AutoReplenishment = true,
                    }));
        });
        return services;
    }
}
