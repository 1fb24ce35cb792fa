using System.Security.Claims;

namespace Parley.Server.Accounts;

/// <summary>Reads Parley's claims from an authenticated principal.</summary>
public static class ClaimsPrincipalExtensions
{
    /// <summary>The authenticated user's id (the <c>sub</c> claim).</summary>
    /// <exception cref="InvalidOperationException">The principal has no valid <c>sub</c> (the endpoint is not authenticated).</exception>
    public static Guid UserId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue("sub"), out var id) ? id : throw new InvalidOperationException("The request is not authenticated.");
}
