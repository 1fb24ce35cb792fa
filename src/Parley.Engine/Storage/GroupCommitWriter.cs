using System.Data.Common;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Parley.Engine.Storage;

/// <summary>
/// Group commit: one writer drains a channel of write operations and runs every operation waiting at that moment in a
/// single database transaction, then commits once. Each operation's task completes only after that commit returned, so
/// a caller is acknowledged only once its own write is durable, while the cost of the commit (the fsync) is shared by
/// the whole batch.
/// </summary>
/// <remarks>
/// Operations check before they write (an operation that rejects itself, e.g. on a version conflict, has written
/// nothing) and leave their message inserts and balance changes to the <see cref="WriterSession"/>, which writes them
/// once per batch. A unique violation reruns each operation of the batch alone, so only the offending one is rejected.
/// A transient failure of the transaction (a deadlock with another node, a busy database) reruns the whole batch, up to
/// 4 attempts; any other failure fails every operation of the batch with the exception, and the connection is reopened
/// for the next batch. A store may run several writers side by side, each for its share of the users
/// (<see cref="PartitionedWriter"/>); each is still one loop, one connection and one transaction at a time.
/// </remarks>
internal sealed partial class GroupCommitWriter : IAsyncDisposable
{
    private readonly Channel<WriteOperation> _queue = Channel.CreateUnbounded<WriteOperation>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly DbDataSource _dataSource;
    private readonly SqlDialect _dialect;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly EngineMetrics? _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private const int MaxAttempts = 4;
    private readonly Task _loop;
    private readonly List<Guid> _balanceUsers = [];
    private WriterSession? _session;
    private long _batches;
    private long _operations;
    private long _busyTicks;
    private int _disposed;

    public GroupCommitWriter(DbDataSource dataSource, SqlDialect dialect, int maxBatch, ILogger logger, EngineMetrics? metrics = null)
    {
        _dataSource = dataSource;
        _dialect = dialect;
        _maxBatch = maxBatch;
        _logger = logger;
        _metrics = metrics;
        using (ExecutionContext.SuppressFlow())
        {
            // The loop outlives whatever request created the writer: it must not inherit that request's Activity.
            _loop = Task.Run(RunAsync);
        }
    }

    /// <summary>Transactions committed so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Operations committed so far.</summary>
    public long Operations => Interlocked.Read(ref _operations);

    /// <summary>Time the writer spent executing batches (its utilisation, against wall-clock time).</summary>
    public TimeSpan BusyTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _busyTicks));

    /// <summary>Queues an operation for the next batch; the task completes once its batch committed (or failed).</summary>
    /// <param name="lockOrder">Operations of a batch run in this order (the user whose row they lock), so concurrent
    /// batches of several nodes take row locks in one global order and rarely deadlock.</param>
    /// <param name="readsBalance">True when the operation reads <paramref name="lockOrder"/>'s balance: the batch reads
    /// (and on PostgreSQL locks) the balances of all such users at its start, in one statement where the dialect can.</param>
    /// <param name="execute">The operation: its checks and statements (none before it knows it will not reject), and its result.</param>
    /// <param name="cancellationToken">Stops the caller's wait; the operation itself still commits or fails with its batch.</param>
    public Task<T> WriteAsync<T>(Guid lockOrder, bool readsBalance, Func<WriterSession, CancellationToken, Task<T>> execute, CancellationToken cancellationToken) =>
        EngineTelemetry.Source.HasListeners()
            ? TracedWriteAsync(lockOrder, readsBalance, execute, cancellationToken)
            : Enqueue(new WriteOperation<T>(lockOrder, readsBalance, execute), cancellationToken);

    private Task<T> Enqueue<T>(WriteOperation<T> operation, CancellationToken cancellationToken)
    {
        if (!_queue.Writer.TryWrite(operation))
        {
            throw new ObjectDisposedException(nameof(GroupCommitWriter));
        }

        // The caller may stop waiting, but the write itself is not withdrawn: it is either committed or failed.
        return operation.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The write inside a <c>parley.commit</c> span of the caller's trace (the wait for its durable group commit), linked from the batch's span.</summary>
    private async Task<T> TracedWriteAsync<T>(Guid lockOrder, bool readsBalance, Func<WriterSession, CancellationToken, Task<T>> execute, CancellationToken cancellationToken)
    {
        using var activity = EngineTelemetry.Source.StartActivity("parley.commit");
        var operation = new WriteOperation<T>(lockOrder, readsBalance, execute) { Context = activity?.Context ?? default };
        try
        {
            return await Enqueue(operation, cancellationToken);
        }
        catch (Exception ex) when (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
        finally
        {
            activity?.SetTag("parley.commit.batch_size", operation.BatchSize);
        }
    }

    private async Task RunAsync()
    {
        Activity.Current = null;
        var batch = new List<WriteOperation>(_maxBatch);
        var reader = _queue.Reader;
        var token = _stopping.Token;
        try
        {
            while (await reader.WaitToReadAsync(token))
            {
                while (batch.Count < _maxBatch && reader.TryRead(out var operation))
                {
                    batch.Add(operation);
                }

                var started = Stopwatch.GetTimestamp();
                await CommitBatchAsync(batch, token);
                Interlocked.Add(ref _busyTicks, Stopwatch.GetTimestamp() - started);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Shutting down.
        }

        while (reader.TryRead(out var left))
        {
            left.Fail(new ObjectDisposedException(nameof(GroupCommitWriter)));
        }
    }

    private async Task CommitBatchAsync(List<WriteOperation> batch, CancellationToken cancellationToken)
    {
        using var activity = EngineTelemetry.Source.HasListeners() ? StartBatchActivity(batch) : null;
        var started = Stopwatch.GetTimestamp();
        var lockBalances = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await TryCommitBatchAsync(batch, lockBalances, cancellationToken);
                _metrics?.Committed(batch.Count, Stopwatch.GetElapsedTime(started));
                foreach (var operation in batch)
                {
                    operation.BatchSize = batch.Count;
                    operation.Publish();
                }

                return;
            }
            catch (DbException ex) when (_dialect.IsUniqueViolation(ex))
            {
                // An operation's message broke a unique constraint (a client message id stored meanwhile): nothing of the
                // batch was committed. Alone, the operation is rejected; in a batch, each operation reruns on its own.
                await ResetConnectionAsync();
                if (batch.Count == 1)
                {
                    batch[0].Reject(new UniqueViolationException(ex));
                    return;
                }

                foreach (var operation in batch)
                {
                    await CommitBatchAsync([operation], cancellationToken);
                }

                return;
            }
            catch (Exception ex) when (attempt < MaxAttempts && (ex is BalanceChangedException || (ex is DbException db && _dialect.IsTransient(db))))
            {
                // A deadlock with another node's writer, or a busy database: nothing of the batch was committed, so
                // the whole batch runs again (each operation re-checks its conditions).
                LogBatchRetried(_logger, ex, batch.Count, attempt);
                lockBalances |= ex is BalanceChangedException; // the rerun locks the balances it reads: it cannot lose that race again
                await ResetConnectionAsync();
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) * attempt), cancellationToken);
            }
            catch (Exception ex)
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                LogBatchFailed(_logger, ex, batch.Count);
                foreach (var operation in batch)
                {
                    operation.Fail(ex);
                }

                await ResetConnectionAsync();
                return;
            }
        }
    }

    /// <summary>The batch's own span (no parent), linked to the <c>parley.commit</c> span of every traced operation in it.</summary>
    private static Activity? StartBatchActivity(List<WriteOperation> batch)
    {
        var links = new List<ActivityLink>();
        foreach (var operation in batch)
        {
            if (operation.Context != default)
            {
                links.Add(new ActivityLink(operation.Context));
            }
        }

        var activity = EngineTelemetry.Source.StartActivity("parley.group_commit", ActivityKind.Internal, default(ActivityContext), links: links);
        activity?.SetTag("parley.commit.batch_size", batch.Count);
        return activity;
    }

    /// <summary>
    /// One transaction: the operations in user order (so concurrent batches of several nodes lock users in one order),
    /// then what they queued (<see cref="WriterSession.FlushAsync"/>), then the commit. An operation that rejects itself
    /// does so before its first write, so it needs no savepoint; any statement error fails the whole transaction.
    /// </summary>
    private async Task TryCommitBatchAsync(List<WriteOperation> batch, bool lockBalances, CancellationToken cancellationToken)
    {
        var session = await EnsureSessionAsync(cancellationToken);
        await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken);
        session.Begin(transaction);
        if (batch.Count > 1)
        {
            batch.Sort(static (a, b) => a.LockOrder.CompareTo(b.LockOrder));
        }

        _balanceUsers.Clear();
        foreach (var operation in batch)
        {
            if (operation.ReadsBalance && (_balanceUsers.Count == 0 || _balanceUsers[^1] != operation.LockOrder))
            {
                _balanceUsers.Add(operation.LockOrder); // sorted and distinct: the batch is in user order
            }
        }

        await session.ReadBalancesAsync(_balanceUsers, lockBalances, cancellationToken);
        if (session.IsPipelined)
        {
            // Each operation runs to its first statement, which only queues; each round sends every queued statement at
            // once and runs the operations on to their next one (or their end).
            var running = new Task[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Reset();
                running[i] = batch[i].ExecuteAsync(session, cancellationToken);
            }

            while (session.HasQueued)
            {
                await session.RunQueuedAsync(cancellationToken);
            }

            if (Array.Exists(running, task => !task.IsCompleted))
            {
                throw new InvalidOperationException("A write operation awaited something other than its session's statements.");
            }

            await Task.WhenAll(running);
        }
        else
        {
            foreach (var operation in batch)
            {
                operation.Reset();
                await operation.ExecuteAsync(session, cancellationToken);
            }
        }

        await session.FlushAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _operations, batch.Count);
    }

    private async Task<WriterSession> EnsureSessionAsync(CancellationToken cancellationToken)
    {
        if (_session is not null)
        {
            return _session;
        }

        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await _dialect.InitializeWriterAsync(connection, cancellationToken);
        _session = new WriterSession(connection, _dialect);
        return _session;
    }

    private async Task ResetConnectionAsync()
    {
        if (_session is { } session)
        {
            _session = null;
            session.Dispose();
            await session.Connection.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _loop; // drains what was queued
        await _stopping.CancelAsync();
        await ResetConnectionAsync();
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {Count} operations hit a transient error (attempt {Attempt}); retrying the batch")]
    private static partial void LogBatchRetried(ILogger logger, Exception exception, int count, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "A group commit of {Count} operations failed; each caller gets the error")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    private abstract class WriteOperation(Guid lockOrder, bool readsBalance)
    {
        public Guid LockOrder { get; } = lockOrder;

        public bool ReadsBalance { get; } = readsBalance;

        /// <summary>The caller's <c>parley.commit</c> span, when traced.</summary>
        public ActivityContext Context { get; init; }

        /// <summary>Operations in the transaction that committed this one.</summary>
        public int BatchSize { get; set; }

        /// <summary>Forgets the result of an earlier attempt of the batch.</summary>
        public abstract void Reset();

        public abstract Task ExecuteAsync(WriterSession session, CancellationToken cancellationToken);

        /// <summary>Ends the operation with <paramref name="exception"/> as its own outcome (its batch did not commit it).</summary>
        public abstract void Reject(Exception exception);

        public abstract void Publish();

        public abstract void Fail(Exception exception);
    }

    private sealed class WriteOperation<T>(Guid lockOrder, bool readsBalance, Func<WriterSession, CancellationToken, Task<T>> execute)
        : WriteOperation(lockOrder, readsBalance)
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public Task<T> Task => _completion.Task;

        public override void Reset() => _result = default;

        public override async Task ExecuteAsync(WriterSession session, CancellationToken cancellationToken)
        {
            _result = await execute(session, cancellationToken);
        }

        public override void Reject(Exception exception) => _completion.TrySetException(exception);

        public override void Publish() => _completion.TrySetResult(_result!);

        public override void Fail(Exception exception) => _completion.TrySetException(exception);
    }
}

/// <summary>Thrown to a writer's caller when its operation hit a unique constraint; the operation was rolled back alone.</summary>
internal sealed class UniqueViolationException(DbException inner) : Exception("A unique constraint was violated.", inner);
