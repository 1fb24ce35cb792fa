using System.Data.Common;
using Microsoft.Extensions.Logging;

namespace Parley.Engine.Storage;

/// <summary>
/// Several <see cref="GroupCommitWriter"/>s committing at once, each with its own loop, connection and transaction; every
/// write goes to the writer of its user (<see cref="PartitionOf"/>).
/// </summary>
/// <remarks>
/// Why by user: every row a write locks — the user's balance and the user's own conversations — belongs to one user, so
/// all writes of a user land in one writer's FIFO queue. A user's writes therefore keep their order (a turn's accept
/// before its completion, a checkpoint before the reply's commit), two writers of a node never wait for each other's
/// row locks (nor deadlock), and each writer keeps its batch rules unchanged: durable before acknowledgement, the
/// rerun of a unique violation one by one, the retry of a transient failure. What several writers buy is overlap:
/// while one batch waits for its round trips and its fsync, the others run theirs (PostgreSQL). On SQLite, whose
/// single write lock lets one transaction write at a time, one writer is all that pays (<see cref="SqlDialect.MaxCommitWriters"/>).
/// </remarks>
internal sealed class PartitionedWriter : IAsyncDisposable
{
    private readonly GroupCommitWriter[] _writers;

    /// <summary>Starts <paramref name="writers"/> group-commit writers.</summary>
    /// <param name="dataSource">Connections to the database; each writer holds one of them while it runs.</param>
    /// <param name="dialect">The database's <see cref="SqlDialect"/>.</param>
    /// <param name="writers">Writers to run, 1 or more (already resolved by <see cref="SqlDialect.CommitWriters"/>).</param>
    /// <param name="maxBatch">Most operations per transaction, per writer.</param>
    /// <param name="logger">Logs retried and failed batches.</param>
    /// <param name="metrics">Records each group commit of every writer; none when null.</param>
    public PartitionedWriter(DbDataSource dataSource, SqlDialect dialect, int writers, int maxBatch, ILogger logger, EngineMetrics? metrics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(writers, 1);
        _writers = new GroupCommitWriter[writers];
        for (var i = 0; i < writers; i++)
        {
            _writers[i] = new GroupCommitWriter(dataSource, dialect, maxBatch, logger, metrics);
        }
    }

    /// <summary>The writers, in partition order (<see cref="PartitionOf"/> indexes them).</summary>
    public IReadOnlyList<GroupCommitWriter> Writers => _writers;

    /// <summary>Transactions committed so far, by all writers.</summary>
    public long Batches => _writers.Sum(writer => writer.Batches);

    /// <summary>Operations committed so far, by all writers.</summary>
    public long Operations => _writers.Sum(writer => writer.Operations);

    /// <summary>Time the writers spent executing batches, summed: up to the number of writers × wall-clock time.</summary>
    public TimeSpan BusyTime => _writers.Aggregate(TimeSpan.Zero, (sum, writer) => sum + writer.BusyTime);

    /// <summary>
    /// The writer (0 to <paramref name="writers"/> − 1) of <paramref name="user"/>'s writes: the user id's hash modulo the
    /// number of writers. <see cref="Guid.GetHashCode"/> is not randomised per process, and the low bits of a version 7
    /// id (and all of a version 4 id) are random, so users spread evenly.
    /// </summary>
    public static int PartitionOf(Guid user, int writers) => (int)((uint)user.GetHashCode() % (uint)writers);

    /// <summary>Queues an operation on its user's writer: see <see cref="GroupCommitWriter.WriteAsync{T}"/>.</summary>
    /// <param name="user">The user whose rows the operation writes: the writer's partition key and its lock order.</param>
    /// <param name="readsBalance">True when the operation reads <paramref name="user"/>'s balance.</param>
    /// <param name="execute">The operation.</param>
    /// <param name="cancellationToken">Stops the caller's wait; the operation still commits or fails with its batch.</param>
    public Task<T> WriteAsync<T>(Guid user, bool readsBalance, Func<WriterSession, CancellationToken, Task<T>> execute, CancellationToken cancellationToken) =>
        _writers[PartitionOf(user, _writers.Length)].WriteAsync(user, readsBalance, execute, cancellationToken);

    /// <summary>Stops every writer after it committed what was queued on it.</summary>
    public async ValueTask DisposeAsync() =>
        await Task.WhenAll(_writers.Select(writer => writer.DisposeAsync().AsTask()));
}
