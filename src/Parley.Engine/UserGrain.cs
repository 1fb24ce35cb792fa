namespace Parley.Engine;

/// <summary>
/// One user, wherever it is activated in the cluster: counts the user's messages against a per-minute budget, so the
/// limit holds across every node (a per-node limiter would allow nodes × the limit).
/// </summary>
public interface IUserGrain : IGrainWithGuidKey
{
    /// <summary>Takes one message from the user's budget: a token bucket of <paramref name="perMinute"/> tokens, refilled continuously at that rate.</summary>
    /// <param name="perMinute">The budget (<c>RateLimits:MessagesPerMinute</c>).</param>
    /// <returns>Whether the message may be sent, and if not, how long until it may.</returns>
    Task<MessagePermit> TryTakeMessagePermitAsync(int perMinute);
}

/// <summary>The answer of <see cref="IUserGrain.TryTakeMessagePermitAsync"/>.</summary>
/// <param name="Granted">True when the message may be sent.</param>
/// <param name="RetryAfter">When not granted: how long until one token is back.</param>
[GenerateSerializer, Immutable]
public readonly record struct MessagePermit(bool Granted, TimeSpan RetryAfter);

/// <summary>The <see cref="IUserGrain"/> implementation. Its bucket lives in RAM: a collected (idle) grain starts full again, which an idle user's bucket would be anyway.</summary>
/// <param name="time">The clock.</param>
public sealed class UserGrain(TimeProvider time) : Grain, IUserGrain
{
    private double _tokens = double.NaN;
    private long _updated;

    /// <inheritdoc />
    public Task<MessagePermit> TryTakeMessagePermitAsync(int perMinute)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perMinute, 1);
        var now = time.GetTimestamp();
        _tokens = double.IsNaN(_tokens)
            ? perMinute
            : Math.Min(perMinute, _tokens + time.GetElapsedTime(_updated, now).TotalMinutes * perMinute);
        _updated = now;
        if (_tokens >= 1)
        {
            _tokens -= 1;
            return Task.FromResult(new MessagePermit(true, TimeSpan.Zero));
        }

        return Task.FromResult(new MessagePermit(false, TimeSpan.FromMinutes((1 - _tokens) / perMinute)));
    }
}
