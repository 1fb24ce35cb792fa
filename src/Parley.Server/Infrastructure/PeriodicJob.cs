namespace Parley.Server.Infrastructure;

/// <summary>
/// A background job that runs every <see cref="Period"/> on each node until the host stops: the revocation poll, the
/// balance refill and retention. A failed run is logged as a warning and retried at the next tick; it never stops the
/// loop or the host. The ticks come from the host's <see cref="TimeProvider"/>, so tests can move the clock.
/// </summary>
/// <param name="time">The clock that drives the ticks.</param>
/// <param name="logger">Where failed runs are logged.</param>
public abstract partial class PeriodicJob(TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>The clock that drives the ticks (the host's; tests move it).</summary>
    protected TimeProvider Time { get; } = time;

    /// <summary>The job's logger.</summary>
    protected ILogger Logger { get; } = logger;

    /// <summary>The time between runs, or null when the job is switched off by configuration (it then never runs).</summary>
    protected abstract TimeSpan? Period { get; }

    /// <summary>True to run once as soon as the host starts, before the first period has passed. Default false.</summary>
    protected virtual bool RunAtStart => false;

    /// <summary>One run of the job.</summary>
    /// <param name="cancellationToken">Cancelled when the host stops.</param>
    protected abstract Task RunScheduledAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Period is not { } period)
        {
            return;
        }

        if (RunAtStart)
        {
            await RunLoggedAsync(stoppingToken);
        }

        using var timer = new PeriodicTimer(period, Time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await RunLoggedAsync(stoppingToken);
        }
    }

    private async Task RunLoggedAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunScheduledAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRunFailed(Logger, GetType().Name, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Job} failed; retrying at the next tick")]
    private static partial void LogRunFailed(ILogger logger, string job, Exception exception);
}
