using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Parley.Server.Infrastructure;

namespace Parley.Server.Accounts;

/// <summary>
/// The refresh reuse grace: for <c>Jwt:RefreshReuseGraceSeconds</c> after a refresh token was rotated, presenting it
/// again on this node (two tabs refreshing at the same moment) returns the same new pair instead of revoking the session —
/// as long as that new pair's refresh token is itself still unused. Any other reuse still revokes the session.
/// </summary>
/// <remarks>
/// Kept in RAM per node: the pairs are never stored (the database keeps refresh tokens only as hashes). A second tab
/// whose refresh reaches another node within the grace revokes the session, as before.
/// </remarks>
public sealed class RefreshGrace(IOptions<JwtOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Rotation> _rotations = new();
    private int _calls;

    /// <summary>The grace, or zero when it is off.</summary>
    public TimeSpan Window => TimeSpan.FromSeconds(options.Value.RefreshReuseGraceSeconds);

    /// <summary>
    /// Registers the rotation of the token with hash <paramref name="tokenHash"/>: true when this request is the first
    /// (it must rotate and then call <see cref="Complete"/> or <see cref="Abandon"/>); false with the first request's
    /// pending pair when another request on this node rotated the token within the grace.
    /// </summary>
    public bool TryBegin(string tokenHash, out Task<TokenPair?> rotated)
    {
        var now = time.GetUtcNow();
        if (Interlocked.Increment(ref _calls) % 256 == 0)
        {
            foreach (var (hash, old) in _rotations)
            {
                if (old.Expires <= now)
                {
                    _rotations.TryRemove(new KeyValuePair<string, Rotation>(hash, old));
                }
            }
        }

        var mine = new Rotation(new TaskCompletionSource<TokenPair?>(TaskCreationOptions.RunContinuationsAsynchronously), now + Window);
        while (true)
        {
            var current = _rotations.GetOrAdd(tokenHash, mine);
            if (current == mine)
            {
                rotated = mine.Pair.Task;
                return true;
            }

            if (current.Expires > now)
            {
                rotated = current.Pair.Task;
                return false;
            }

            _rotations.TryRemove(new KeyValuePair<string, Rotation>(tokenHash, current)); // expired: start over
        }
    }

    /// <summary>The first request rotated the token into <paramref name="pair"/>: requests within the grace get it too.</summary>
    public void Complete(string tokenHash, TokenPair pair)
    {
        if (_rotations.TryGetValue(tokenHash, out var rotation))
        {
            rotation.Pair.TrySetResult(pair);
        }
    }

    /// <summary>The first request did not rotate (the token was invalid or already spent): others get nothing either.</summary>
    public void Abandon(string tokenHash)
    {
        if (_rotations.TryRemove(tokenHash, out var rotation))
        {
            rotation.Pair.TrySetResult(null);
        }
    }

    private sealed record Rotation(TaskCompletionSource<TokenPair?> Pair, DateTimeOffset Expires);
}
