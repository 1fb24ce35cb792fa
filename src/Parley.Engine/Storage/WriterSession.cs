using System.Data.Common;

namespace Parley.Engine.Storage;

/// <summary>
/// The group-commit writer's connection and current transaction, with one reusable (prepared) command per SQL text.
/// SQL texts name their parameters <c>@p0</c>, <c>@p1</c>, … in the order of the values passed.
/// </summary>
internal sealed class WriterSession
{
    private readonly Dictionary<string, DbCommand> _commands;
    private DbTransaction? _transaction;

    public WriterSession(DbConnection connection, SqlDialect dialect)
    {
        Connection = connection;
        Dialect = dialect;
        _commands = new Dictionary<string, DbCommand>(StringComparer.Ordinal);
    }

    public DbConnection Connection { get; }

    public SqlDialect Dialect { get; }

    public void Begin(DbTransaction transaction) => _transaction = transaction;

    public Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params ReadOnlySpan<object?> values) =>
        Bind(sql, values).ExecuteNonQueryAsync(cancellationToken);

    public Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken, params ReadOnlySpan<object?> values) =>
        Bind(sql, values).ExecuteScalarAsync(cancellationToken);

    private DbCommand Bind(string sql, ReadOnlySpan<object?> values)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < values.Length; i++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = "@p" + i;
                command.Parameters.Add(parameter);
            }

            _commands.Add(sql, command);
        }

        command.Transaction = _transaction;
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        return command;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
    }
}
