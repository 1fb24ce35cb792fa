using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Parley.Server.Infrastructure;

/// <summary>Builders for RFC 9457 problem details with the offending field named in <c>errors</c>.</summary>
public static class Problems
{
    /// <summary>400 with one error on <paramref name="field"/> (camelCase, as in the request body).</summary>
    public static ValidationProblem Field(string field, string error) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [error] });

    /// <summary>400 with the errors collected per field.</summary>
    public static ValidationProblem Fields(IDictionary<string, string[]> errors) => TypedResults.ValidationProblem(errors);

    /// <summary>A problem with <paramref name="status"/>, <paramref name="title"/> and <paramref name="detail"/>; optional field errors.</summary>
    public static ProblemHttpResult Status(int status, string title, string detail, string? field = null)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (field is not null)
        {
            problem.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [detail] };
        }

        return TypedResults.Problem(problem);
    }

    /// <summary>404 that never says whether the resource exists for someone else.</summary>
    public static ProblemHttpResult NotFound(string what) => Status(StatusCodes.Status404NotFound, "Not found", $"The {what} does not exist.");
}

/// <summary>
/// The one exception handler: malformed requests (bad JSON, wrong types, missing body) become 400 problem details
/// naming the field; an unreachable silo or grain (shutdown, a node lost) a 503 with <c>Retry-After</c>; anything else becomes a 500 with only a trace id (no internals), per RFC 9457.
/// </summary>
public sealed partial class ProblemDetailsExceptionHandler(IProblemDetailsService problems, ILogger<ProblemDetailsExceptionHandler> logger) : IExceptionHandler
{
    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails problem;
        if (exception is UnknownUserException)
        {
            httpContext.Response.Headers.WWWAuthenticate = "Bearer";
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = "The access token's user no longer exists. Log in again.",
            };
        }
        else if (exception is BadHttpRequestException bad)
        {
            var json = exception.InnerException as JsonException;
            var field = json?.Path is { Length: > 2 } path ? ToField(path)
                : json is null && BoundParameter().Match(bad.Message) is { Success: true } parameter ? parameter.Groups["name"].Value // limit=ten
                : "body";
            var detail = json is not null
                ? $"The request body is not valid: '{field}' has the wrong type or the JSON is malformed."
                : bad.Message.Contains("no body was provided", StringComparison.Ordinal)
                    ? "A JSON request body is required."
                    : bad.Message;
            problem = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] })
            {
                Status = bad.StatusCode,
                Title = "The request is malformed",
                Detail = detail,
            };
        }
        else if (ClusterSetup.IsUnavailable(exception))
        {
            // The silo is shutting down or the grain's node went away: retryable, not a server bug.
            httpContext.Response.Headers.RetryAfter = ClusterSetup.RetryAfterSeconds;
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Temporarily unavailable",
                Detail = "The node is starting, stopping or lost contact with the cluster; retry shortly.",
            };
        }
        else
        {
            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "An unexpected error occurred",
                Detail = "The server failed to process the request. Quote the traceId when reporting it.",
            };
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>The parameter in ASP.NET Core's binding failures: 'Failed to bind parameter "Nullable&lt;int&gt; limit" from "ten".'</summary>
    [GeneratedRegex("""^Failed to bind parameter "[^"]*?(?<name>\w+)" from """)]
    private static partial Regex BoundParameter();

    /// <summary>"$.content" → "content"; "$.items[0].name" → "items[0].name".</summary>
    private static string ToField(string jsonPath) => jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath;

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}

/// <summary>
/// A validly signed access token names a user that no longer exists (deleted after the token was issued); the exception
/// handler answers 401, like any other token that does not identify a user.
/// </summary>
public sealed class UnknownUserException() : Exception("The access token's user no longer exists.");

/// <summary>Adds <c>traceId</c> to every problem details response.</summary>
public static partial class ProblemDetailsSetup
{
    /// <summary>The <c>type</c> of a 429 problem: RFC 6585 §4 (ASP.NET Core has no default for it).</summary>
    public const string TooManyRequestsType = "https://www.rfc-editor.org/rfc/rfc6585#section-4";

    /// <summary>The <c>type</c> of a 402 problem: RFC 9110 §15.5.3.</summary>
    public const string PaymentRequiredType = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.3";

    [GeneratedRegex(@"^[A-Z][A-Za-z0-9]*(\[\d+\])?(\.[A-Za-z][A-Za-z0-9]*(\[\d+\])?)*$")]
    private static partial Regex MemberPath();

    private static bool IsMemberPath(string key) => MemberPath().IsMatch(key);

    /// <summary>Registers problem details with a trace id (and a <c>type</c> where ASP.NET Core has none) and the exception handler.</summary>
    public static IServiceCollection AddParleyProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            problem.Type ??= problem.Status switch
            {
                StatusCodes.Status429TooManyRequests => TooManyRequestsType,
                StatusCodes.Status402PaymentRequired => PaymentRequiredType,
                _ => null,
            };
            problem.Extensions["traceId"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;
            if (problem is HttpValidationProblemDetails validation && validation.Errors.Keys.Any(IsMemberPath))
            {
                // AddValidation() names fields by their C# member paths (UserName, Items[0].Name); the API's keys are
                // camelCase, as in the body. Other keys (a header such as Last-Event-ID) stay as they are.
                var errors = validation.Errors.ToDictionary(
                    e => IsMemberPath(e.Key) ? string.Join('.', e.Key.Split('.').Select(JsonNamingPolicy.CamelCase.ConvertName)) : e.Key,
                    e => e.Value);
                validation.Errors.Clear();
                foreach (var (key, value) in errors)
                {
                    validation.Errors[key] = value;
                }
            }
        });
        services.AddSingleton<IProblemDetailsWriter, AnyAcceptProblemDetailsWriter>(); // after the default writer
        services.AddExceptionHandler<ProblemDetailsExceptionHandler>();
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services;
    }
}

/// <summary>
/// Writes problem details as <c>application/problem+json</c> whatever the request accepts. ASP.NET Core's default writer
/// declines requests that do not accept JSON — e.g. a send with <c>Accept: text/event-stream</c> rejected before its stream
/// starts (400, 402, 404, 429…) — and the result then fell back to bare JSON without the <c>traceId</c>.
/// </summary>
internal sealed class AnyAcceptProblemDetailsWriter(
    IOptions<ProblemDetailsOptions> options,
    IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json) : IProblemDetailsWriter
{
    /// <inheritdoc />
    public bool CanWrite(ProblemDetailsContext context) => true;

    /// <inheritdoc />
    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Status ??= context.HttpContext.Response.StatusCode; // request validation leaves it to the writer
        options.Value.CustomizeProblemDetails?.Invoke(context);
        return new ValueTask(context.HttpContext.Response.WriteAsJsonAsync(
            problem, problem.GetType(), json.Value.SerializerOptions, "application/problem+json", context.HttpContext.RequestAborted));
    }
}
