using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Parley.Engine.Bots;
using Parley.Server.Data;

namespace Parley.Server.Models;

/// <summary>
/// Titles a conversation after its first reply (<c>Bot:GenerateTitles</c>): asks the conversation's model for a short title
/// in the background, uncharged, and stores it only if the conversation still has none. When the model fails or answers
/// nothing usable, the start of the first message becomes the title instead.
/// </summary>
public sealed partial class TitleGenerator(
    IServiceProvider services, IServiceScopeFactory scopes, IHostApplicationLifetime lifetime, ILogger<TitleGenerator> logger) : ITitleGenerator
{
    /// <summary>Longest title stored, in characters (the column holds 200).</summary>
    public const int MaxTitleLength = 80;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<Guid, Task> _running = new();

    /// <inheritdoc />
    public void Schedule(Guid conversationId, string model, string userText, string reply)
    {
        var task = Task.Run(() => TitleAsync(conversationId, model, userText, reply));
        _running[conversationId] = task;
        _ = task.ContinueWith(_ => _running.TryRemove(new KeyValuePair<Guid, Task>(conversationId, task)), TaskScheduler.Default);
    }

    /// <summary>Completes when no title is being generated any more (tests, shutdown).</summary>
    public Task WhenIdleAsync() => Task.WhenAll(_running.Values);

    private async Task TitleAsync(Guid conversationId, string model, string userText, string reply)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
        timeout.CancelAfter(Timeout);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ParleyDbContext>();
            if (!await db.Conversations.AnyAsync(c => c.Id == conversationId && c.Title == null, timeout.Token))
            {
                return;
            }

            var title = await AskAsync(model, userText, reply, timeout.Token) ?? FromMessage(userText);
            await db.Conversations.Where(c => c.Id == conversationId && c.Title == null)
                .ExecuteUpdateAsync(c => c.SetProperty(x => x.Title, title), timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogTitleFailed(logger, ex, conversationId);
        }
    }

    private async Task<string?> AskAsync(string model, string userText, string reply, CancellationToken cancellationToken)
    {
        try
        {
            var bot = services.GetRequiredService<IChatClient>();
            var response = await bot.GetResponseAsync(
                [
                    new ChatMessage(ChatRole.System, "Write a title of at most six words for the conversation below. Reply with the title only, without quotes."),
                    new ChatMessage(ChatRole.User, $"User: {Clip(userText, 1000)}\n\nAssistant: {Clip(reply, 1000)}"),
                ],
                new ChatOptions { ModelId = model, MaxOutputTokens = 24, Temperature = 0.2f },
                cancellationToken);
            var title = response.Text.Trim().Trim('"', '\'', '*', '#', ' ', '.');
            var newline = title.IndexOfAny(['\r', '\n']);
            title = newline >= 0 ? title[..newline].Trim() : title;
            return title.Length == 0 ? null : Clip(title, MaxTitleLength);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogTitleFailed(logger, ex, Guid.Empty);
            return null;
        }
    }

    /// <summary>The first line of the first message, at most 60 characters (the title Parley gives without a model).</summary>
    private static string FromMessage(string content)
    {
        var line = content.AsSpan().Trim();
        var newline = line.IndexOfAny('\r', '\n');
        line = newline >= 0 ? line[..newline].TrimEnd() : line;
        return line.Length <= 60 ? line.ToString() : string.Concat(line[..57].TrimEnd(), "...");
    }

    private static string Clip(string text, int length) => text.Length <= length ? text : string.Concat(text.AsSpan(0, length - 3), "...");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generating a title for conversation {ConversationId} failed; the first message titles it")]
    private static partial void LogTitleFailed(ILogger logger, Exception exception, Guid conversationId);
}
