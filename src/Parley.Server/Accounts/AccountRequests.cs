using System.ComponentModel.DataAnnotations;

namespace Parley.Server.Accounts;

/// <summary>Body of <c>POST /api/auth/register</c>.</summary>
/// <param name="UserName">3–32 characters of <c>[A-Za-z0-9_.-]</c>, unique (case-insensitive).</param>
/// <param name="Password">At least 8 characters with an upper-case letter, a lower-case letter, a digit and a symbol.</param>
/// <param name="Email">Optional; unique when given.</param>
public sealed record RegisterRequest(
    [Required(ErrorMessage = AccountRules.UserNameMessage), RegularExpression(AccountRules.UserNamePattern, ErrorMessage = AccountRules.UserNameMessage)]
    string? UserName,
    [Required(ErrorMessage = "A password is required.")] string? Password,
    [OptionalEmail] string? Email = null);

/// <summary>The account rules the request attributes and the handlers share (one constant each).</summary>
public static class AccountRules
{
    /// <summary>User names: 3–32 characters of letters, digits, <c>_</c>, <c>.</c> and <c>-</c>.</summary>
    public const string UserNamePattern = "^[A-Za-z0-9_.-]{3,32}$";

    /// <summary>The error for a user name that breaks <see cref="UserNamePattern"/>.</summary>
    public const string UserNameMessage = "The user name must be 3 to 32 characters of letters, digits, '_', '.' or '-'.";

    /// <summary>Longest email address (RFC 5321's path limit).</summary>
    public const int EmailMaxLength = 254;

    /// <summary>The error for an invalid email address.</summary>
    public const string EmailMessage = "The email address is not valid.";

    /// <summary>An optional email as stored: trimmed, null when blank.</summary>
    public static string? NormalizeEmail(string? email) => string.IsNullOrWhiteSpace(email) ? null : email.Trim();
}

/// <summary>An optional email address: blank means none; otherwise (trimmed) at most 254 characters and a valid address.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class OptionalEmailAttribute() : ValidationAttribute(AccountRules.EmailMessage)
{
    /// <inheritdoc />
    public override bool IsValid(object? value) =>
        AccountRules.NormalizeEmail(value as string) is not { } email
        || (email.Length <= AccountRules.EmailMaxLength && new EmailAddressAttribute().IsValid(email));
}

/// <summary>Body of <c>POST /api/auth/login</c>.</summary>
/// <param name="UserName">The user name, or the email address.</param>
/// <param name="Password">The password.</param>
public sealed record LoginRequest(string? UserName, string? Password);

/// <summary>Body of <c>POST /api/auth/refresh</c> and (optionally) <c>POST /api/auth/logout</c>.</summary>
/// <param name="RefreshToken">A refresh token from login or a previous refresh.</param>
public sealed record RefreshRequest(string? RefreshToken);
