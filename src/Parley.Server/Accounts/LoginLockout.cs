using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Parley.Server.Data;

namespace Parley.Server.Accounts;

/// <summary>The answer of <see cref="LoginLockout.AdmitAsync"/>.</summary>
/// <param name="LockedUntil">Null: the password may be checked; else the end of the lockout.</param>
/// <param name="LastAttempt">The attempt took the last slot: if its password is wrong, the account locks.</param>
public readonly record struct LoginAdmission(DateTimeOffset? LockedUntil, bool LastAttempt);

/// <summary>
/// Identity's lockout (<see cref="LockoutOptions"/>: 5 failures lock for 5 minutes), made exact under concurrency and
/// indistinguishable for names that have no account.
/// </summary>
/// <remarks>
/// <para>
/// Identity counts a failure after the password was checked, with an update guarded by the user's concurrency stamp
/// whose failure it ignores: parallel guesses all get checked (14–19 of 20 in a burst) and lose each other's increments,
/// and the next save of the tracked user throws (a correct login answered 500). Here a password is checked only after
/// its attempt took one of the <see cref="LockoutOptions.MaxFailedAccessAttempts"/> slots — an increment of
/// <c>AccessFailedCount</c> guarded by <c>ConcurrencyStamp</c> (compare-and-set, retried on conflict) — so at most that
/// many passwords are ever checked before the lock. A correct password resets the count; when the last slot's password
/// was wrong, the account is locked (<c>LockoutEnd</c>) and the count starts again.
/// </para>
/// <para>
/// A name without an account gets the same treatment from RAM (per node, at most 100,000 names, kept a day): the same
/// slots, the same lock, and a password verification against a fixed dummy hash, so neither the answer nor its timing
/// tells whether the account exists.
/// </para>
/// </remarks>
public sealed class LoginLockout : IDisposable
{
    private readonly IOptions<IdentityOptions> _identity;
    private readonly TimeProvider _time;
    private readonly MemoryCache _unknownNames = new(new MemoryCacheOptions { SizeLimit = 100_000 });
    private string? _dummyHash;

    /// <summary>Creates the lockout.</summary>
    public LoginLockout(IOptions<IdentityOptions> identity, TimeProvider time) => (_identity, _time) = (identity, time);

    private LockoutOptions Options => _identity.Value.Lockout;

    /// <summary>
    /// Takes a slot to check a password of <paramref name="userId"/>. <see cref="LoginAdmission.LockedUntil"/> is null when
    /// the password may be checked, else the end of the lockout (the account is locked, or every slot is taken by
    /// attempts in flight and it is locked now).
    /// </summary>
    public async Task<LoginAdmission> AdmitAsync(ParleyDbContext db, Guid userId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var state = await ReadAsync(db, userId, cancellationToken);
            var now = _time.GetUtcNow();
            if (!state.LockoutEnabled)
            {
                return new LoginAdmission(null, LastAttempt: false);
            }

            if (state.LockoutEnd > now)
            {
                return new LoginAdmission(state.LockoutEnd, LastAttempt: false);
            }

            if (state.AccessFailedCount >= Options.MaxFailedAccessAttempts)
            {
                if (await TryLockAsync(db, userId, state.ConcurrencyStamp, now, cancellationToken) is { } end)
                {
                    return new LoginAdmission(end, LastAttempt: false);
                }

                continue;
            }

            var taken = await db.Users
                .Where(u => u.Id == userId && u.ConcurrencyStamp == state.ConcurrencyStamp)
                .ExecuteUpdateAsync(u => u
                    .SetProperty(x => x.AccessFailedCount, state.AccessFailedCount + 1)
                    .SetProperty(x => x.ConcurrencyStamp, Guid.NewGuid().ToString()), cancellationToken);
            if (taken == 1)
            {
                return new LoginAdmission(null, LastAttempt: state.AccessFailedCount + 1 >= Options.MaxFailedAccessAttempts);
            }
        }
    }

    /// <summary>
    /// After a wrong password in the last slot (<see cref="LoginAdmission.LastAttempt"/>; the others cannot have used the
    /// attempts up): locks the account when its attempts are used up, unless another attempt already did.
    /// </summary>
    public async Task RecordFailureAsync(ParleyDbContext db, Guid userId)
    {
        while (true)
        {
            var state = await ReadAsync(db, userId, CancellationToken.None);
            var now = _time.GetUtcNow();
            if (!state.LockoutEnabled || state.LockoutEnd > now || state.AccessFailedCount < Options.MaxFailedAccessAttempts
                || await TryLockAsync(db, userId, state.ConcurrencyStamp, now, CancellationToken.None) is not null)
            {
                return;
            }
        }
    }

    /// <summary>After a correct password: the failure count starts again.</summary>
    public Task RecordSuccessAsync(ParleyDbContext db, Guid userId) =>
        db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(u => u
            .SetProperty(x => x.AccessFailedCount, 0)
            .SetProperty(x => x.ConcurrencyStamp, Guid.NewGuid().ToString()), CancellationToken.None);

    /// <summary>
    /// A login for a name without an account: the same slots and lock as an account (null: answer "invalid credentials";
    /// else the end of the lockout), and a password verification that costs what a real one costs.
    /// </summary>
    public DateTimeOffset? FailUnknownName(string normalizedName, string password, IPasswordHasher<User> hasher)
    {
        var attempts = _unknownNames.GetOrCreate(normalizedName, entry =>
        {
            entry.Size = 1;
            entry.SlidingExpiration = TimeSpan.FromDays(1);
            return new Attempts();
        })!;
        var now = _time.GetUtcNow();
        lock (attempts)
        {
            if (attempts.LockoutEnd > now)
            {
                return attempts.LockoutEnd;
            }

            if (attempts.Failures >= Options.MaxFailedAccessAttempts)
            {
                return attempts.Lock(now + Options.DefaultLockoutTimeSpan);
            }

            attempts.Failures++;
        }

        // A random password nobody knows, hashed like a real one (same algorithm and iteration count).
        _dummyHash ??= hasher.HashPassword(new User(), Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)));
        hasher.VerifyHashedPassword(new User(), _dummyHash, password);
        lock (attempts)
        {
            if (attempts.Failures >= Options.MaxFailedAccessAttempts && !(attempts.LockoutEnd > now))
            {
                attempts.Lock(_time.GetUtcNow() + Options.DefaultLockoutTimeSpan);
            }
        }

        return null;
    }

    /// <inheritdoc />
    public void Dispose() => _unknownNames.Dispose();

    private static Task<LockoutState> ReadAsync(ParleyDbContext db, Guid userId, CancellationToken cancellationToken) =>
        db.Users.AsNoTracking().Where(u => u.Id == userId)
            .Select(u => new LockoutState(u.AccessFailedCount, u.LockoutEnd, u.LockoutEnabled, u.ConcurrencyStamp))
            .SingleAsync(cancellationToken);

    private async Task<DateTimeOffset?> TryLockAsync(ParleyDbContext db, Guid userId, string? stamp, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var end = now + Options.DefaultLockoutTimeSpan;
        var locked = await db.Users
            .Where(u => u.Id == userId && u.ConcurrencyStamp == stamp)
            .ExecuteUpdateAsync(u => u
                .SetProperty(x => x.LockoutEnd, end)
                .SetProperty(x => x.AccessFailedCount, 0)
                .SetProperty(x => x.ConcurrencyStamp, Guid.NewGuid().ToString()), cancellationToken);
        return locked == 1 ? end : null;
    }

    private sealed record LockoutState(int AccessFailedCount, DateTimeOffset? LockoutEnd, bool LockoutEnabled, string? ConcurrencyStamp);

    private sealed class Attempts
    {
        public int Failures { get; set; }

        public DateTimeOffset? LockoutEnd { get; private set; }

        public DateTimeOffset Lock(DateTimeOffset end)
        {
            (LockoutEnd, Failures) = (end, 0);
            return end;
        }
    }
}
