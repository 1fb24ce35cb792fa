using Microsoft.AspNetCore.Http.HttpResults;
using Parley.Engine.Bots;

namespace Parley.Server.Models;

/// <summary>A model a conversation may use.</summary>
/// <param name="Id">The model id, as sent in a conversation's <c>model</c>.</param>
/// <param name="ContextTokens">Its context window, tokens.</param>
/// <param name="MaxOutputTokens">Most tokens of one reply.</param>
/// <param name="IsDefault">True for <c>Bot:DefaultModel</c>, the model of conversations that name none.</param>
public sealed record ModelDto(string Id, int ContextTokens, int MaxOutputTokens, bool IsDefault);

/// <summary>Response of <c>GET /api/models</c>.</summary>
/// <param name="Items">The configured models (<c>Bot:Models</c>), in configuration order.</param>
public sealed record ModelListDto(IReadOnlyList<ModelDto> Items);

/// <summary>The models of the configured provider.</summary>
public static class ModelsApi
{
    /// <summary>Maps <c>GET /api/models</c>.</summary>
    public static RouteHandlerBuilder MapModels(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/api/models", List).WithTags("Models").WithName("ListModels").RequireAuthorization()
            .WithSummary("The models a conversation may use, and which is the default.")
            .ProducesProblem(StatusCodes.Status401Unauthorized);

    /// <summary>200 with the models.</summary>
    public static Ok<ModelListDto> List(BotSettings settings) => TypedResults.Ok(new ModelListDto(
        [.. settings.Models.Select(m => new ModelDto(m.Id, m.ContextTokens, m.MaxOutputTokens, m.Id == settings.Resolve(null).Id))]));
}
