using System.Text;
using Microsoft.Extensions.Logging;

namespace Parley.Engine;

/// <summary>
/// Checkpoints one streaming reply: the text so far is written to the database (<see cref="ITurnStore.CheckpointAsync"/>)
/// with the first chunk after each <see cref="EngineOptions.CheckpointInterval"/>, so that a crash mid-reply leaves it —
/// recovery then stores it <see cref="MessageStatuses.Failed"/> and refunds the turn — instead of an empty reply.
/// </summary>
/// <remarks>
/// <para>Never in the turn's way: a checkpoint is handed to the store's group-commit writer and not awaited, so the next
/// chunk streams at once and the reply's own commit is not queued behind it. At most one checkpoint is in flight; the
/// chunks that arrive meanwhile go into the next one.</para>
/// <para>Fenced like every commit: the store writes a checkpoint only while the conversation is at the version the
/// turn's accept commit left. One that lands after the reply's commit (which clears the checkpoint), or after another
/// node settled the turn, writes nothing. A failed checkpoint is logged and the turn goes on.</para>
/// <para>Not thread-safe: used by the turn that owns it (its grain runs one call at a time).</para>
/// </remarks>
internal sealed partial class TurnCheckpoints
{
    private readonly ITurnStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly Guid _userId;
    private readonly Guid _conversationId;
    private readonly long _expectedVersion;
    private readonly StringBuilder _text = new();
    private long _lastWrite;
    private Task _inFlight = Task.CompletedTask;

    /// <summary>Starts checkpointing the reply of the turn whose accept commit left the conversation at <paramref name="expectedVersion"/>; the first interval starts now.</summary>
    public TurnCheckpoints(
        ITurnStore store, TimeProvider time, TimeSpan interval, ILogger logger, Guid userId, Guid conversationId, long expectedVersion)
    {
        (_store, _time, _interval, _logger) = (store, time, interval, logger);
        (_userId, _conversationId, _expectedVersion) = (userId, conversationId, expectedVersion);
        _lastWrite = time.GetTimestamp();
    }

    /// <summary>Checkpoints written so far (accepted by the store's fence).</summary>
    public int Written { get; private set; }

    /// <summary>Adds a chunk of the reply; starts a checkpoint when the interval has passed and none is in flight.</summary>
    public void Append(string chunk)
    {
        _text.Append(chunk);
        var now = _time.GetTimestamp();
        if (!_inFlight.IsCompleted || _time.GetElapsedTime(_lastWrite, now) < _interval)
        {
            return;
        }

        _lastWrite = now;
        _inFlight = WriteAsync(new TurnCheckpoint(_userId, _conversationId, _expectedVersion, _text.ToString()));
    }

    /// <summary>The checkpoint in flight, if any; completes when it is written or refused (it never fails).</summary>
    public Task Pending => _inFlight;

    private async Task WriteAsync(TurnCheckpoint checkpoint)
    {
        try
        {
            if (await _store.CheckpointAsync(checkpoint, CancellationToken.None))
            {
                Written++;
            }
        }
        catch (Exception ex)
        {
            LogCheckpointFailed(_logger, ex, checkpoint.ConversationId, checkpoint.PartialReply.Length);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpointing the reply of conversation {ConversationId} ({Characters} characters) failed; the turn goes on")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception, Guid conversationId, int characters);
}
