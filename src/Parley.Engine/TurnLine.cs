namespace Parley.Engine;

/// <summary>
/// A conversation grain's queue of turns and settles: one runs at a time, the others wait in arrival order. It also
/// knows which turns wait (for <see cref="EngineOptions.MailboxCapacity"/> and for stopping a queued turn). Used only on
/// the grain's own scheduler (one thread at a time), so it takes no lock; a waiter resumes on that scheduler.
/// </summary>
/// <remarks>
/// Memory (issue 15): every resident conversation has one, so its collections exist only while something waits — an
/// idle line is one flag (<see cref="HoldsWaitState"/> is false).
/// </remarks>
internal sealed class TurnLine
{
    private Queue<TaskCompletionSource>? _waiting;
    private HashSet<Guid>? _queuedTurns;
    private HashSet<Guid>? _stopWhenStarted;
    private bool _taken;

    /// <summary>Turns (not settles) waiting for their place now.</summary>
    public int QueuedTurns => _queuedTurns?.Count ?? 0;

    /// <summary>True while anything waits or a stop waits for its turn: the line then holds collections; false once idle again.</summary>
    internal bool HoldsWaitState => _waiting is not null || _queuedTurns is not null || _stopWhenStarted is not null;

    /// <summary>Completes when the caller's place comes up (at once when the line is empty); the caller then calls <see cref="Leave"/> once.</summary>
    public Task EnterAsync()
    {
        if (!_taken)
        {
            _taken = true;
            return Task.CompletedTask;
        }

        var place = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        (_waiting ??= new Queue<TaskCompletionSource>()).Enqueue(place);
        return place.Task;
    }

    /// <summary>Like <see cref="EnterAsync()"/> for the turn <paramref name="turnId"/>, which counts in <see cref="QueuedTurns"/> while it waits.</summary>
    public async Task EnterAsync(Guid turnId)
    {
        if (!_taken)
        {
            _taken = true;
            return;
        }

        var queued = _queuedTurns ??= [];
        queued.Add(turnId);
        try
        {
            await EnterAsync();
        }
        finally
        {
            queued.Remove(turnId);
            if (queued.Count == 0 && ReferenceEquals(queued, _queuedTurns))
            {
                _queuedTurns = null;
            }
        }
    }

    /// <summary>Hands the line to the next waiter, if any.</summary>
    public void Leave()
    {
        if (_waiting is { } waiting && waiting.TryDequeue(out var next))
        {
            if (waiting.Count == 0)
            {
                _waiting = null;
            }

            next.SetResult();
        }
        else
        {
            _taken = false;
        }
    }

    /// <summary>Asks that the waiting turn <paramref name="turnId"/> be stopped when it starts.</summary>
    /// <returns>True when the turn is waiting and was not asked already.</returns>
    public bool StopWhenStarted(Guid turnId) =>
        _queuedTurns?.Contains(turnId) == true && (_stopWhenStarted ??= []).Add(turnId);

    /// <summary>Whether <paramref name="turnId"/>, starting now, was asked to stop while it waited (the request is consumed).</summary>
    public bool TakeStopRequest(Guid turnId)
    {
        if (_stopWhenStarted is not { } stops || !stops.Remove(turnId))
        {
            return false;
        }

        if (stops.Count == 0)
        {
            _stopWhenStarted = null;
        }

        return true;
    }
}
