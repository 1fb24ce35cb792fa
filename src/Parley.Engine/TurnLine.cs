namespace Parley.Engine;

/// <summary>
/// A conversation grain's queue of turns and settles: one runs at a time, the others wait in arrival order. Used only on
/// the grain's own scheduler (one thread at a time), so it takes no lock; a waiter resumes on that scheduler.
/// </summary>
internal sealed class TurnLine
{
    private readonly Queue<TaskCompletionSource> _waiting = new();
    private bool _taken;

    /// <summary>Completes when the caller's place comes up (at once when the line is empty); the caller then calls <see cref="Leave"/> once.</summary>
    public Task EnterAsync()
    {
        if (!_taken)
        {
            _taken = true;
            return Task.CompletedTask;
        }

        var place = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting.Enqueue(place);
        return place.Task;
    }

    /// <summary>Hands the line to the next waiter, if any.</summary>
    public void Leave()
    {
        if (_waiting.TryDequeue(out var next))
        {
            next.SetResult();
        }
        else
        {
            _taken = false;
        }
    }
}
