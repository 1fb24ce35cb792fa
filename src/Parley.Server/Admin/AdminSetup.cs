using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Parley.Server.Accounts;
using Parley.Server.Data;

namespace Parley.Server.Admin;

/// <summary>Admins (section <c>Admin</c>).</summary>
public sealed class AdminOptions
{
    /// <summary>User names made admins at every start (the bootstrap of a fresh install), e.g. <c>Admin__Users__0=alice</c>. Default none.</summary>
    public List<string> Users { get; set; } = [];
}

/// <summary>The admin role: the authorization policy, the start-up bootstrap.</summary>
public static class AdminSetup
{
    /// <summary>The authorization policy of <c>/api/admin/*</c>.</summary>
    public const string Policy = "admin";

    /// <summary>Adds the <see cref="Policy"/> policy: an authenticated user whose stored role is <c>admin</c> and who is not disabled (read from the database per request, so a revoked role counts at once on every node).</summary>
    public static IServiceCollection AddParleyAdmin(this IServiceCollection services)
    {
        services.AddOptions<AdminOptions>().BindConfiguration("Admin");
        services.AddScoped<IAuthorizationHandler, AdminHandler>();
        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy.RequireAuthenticatedUser().AddRequirements(new AdminRequirement()));
        return services;
    }

    /// <summary>Makes the users named in <c>Admin:Users</c> admins (names that have no account yet are skipped and become admins at the next start).</summary>
    public static async Task BootstrapAdminsAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        var names = app.Services.GetRequiredService<IOptions<AdminOptions>>().Value.Users;
        if (names.Count == 0)
        {
            return;
        }

        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
        var normalized = names.Select(n => n.Trim().ToUpperInvariant()).ToList();
        await db.Users.Where(u => normalized.Contains(u.NormalizedUserName!) && u.Role != AccountRoles.Admin)
            .ExecuteUpdateAsync(u => u.SetProperty(x => x.Role, AccountRoles.Admin), cancellationToken);
    }

    private sealed class AdminRequirement : IAuthorizationRequirement;

    private sealed class AdminHandler(ParleyDbContext db) : AuthorizationHandler<AdminRequirement>
    {
        protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, AdminRequirement requirement)
        {
            if (context.User.Identity?.IsAuthenticated != true)
            {
                return;
            }

            var userId = context.User.UserId();
            if (await db.Users.AnyAsync(u => u.Id == userId && u.Role == AccountRoles.Admin && !u.Disabled))
            {
                context.Succeed(requirement);
            }
        }
    }
}
