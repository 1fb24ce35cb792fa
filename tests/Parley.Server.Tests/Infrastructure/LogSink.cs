using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Parley.Server.Tests.Infrastructure;

/// <summary>
/// Keeps the host's warnings and errors (with exceptions) in memory and copies them to the running test's output, so a
/// failing test shows what the server logged.
/// </summary>
public sealed class LogSink : ILoggerProvider
{
    private static readonly ConcurrentQueue<string> RecentEntries = new();
    private readonly ConcurrentQueue<string> _entries = new();

    /// <summary>The last errors logged by any host of this test run (for failure messages of helpers that do not know their host).</summary>
    public static string Recent => string.Join('\n', RecentEntries.TakeLast(5));

    /// <summary>Everything logged at <see cref="LogLevel.Warning"/> or above, oldest first.</summary>
    public IReadOnlyCollection<string> Entries => _entries;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private void Write(string entry)
    {
        _entries.Enqueue(entry);
        RecentEntries.Enqueue(entry);
        while (RecentEntries.Count > 50)
        {
            RecentEntries.TryDequeue(out _);
        }
        try
        {
            TestContext.Current.TestOutputHelper?.WriteLine(entry);
        }
        catch (InvalidOperationException)
        {
            // No test is running on this flow (background work between tests).
        }
    }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                sink.Write($"[server {logLevel}] {category}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}");
            }
        }
    }
}
