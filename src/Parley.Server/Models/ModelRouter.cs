using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Parley.Engine.Bots;

namespace Parley.Server.Models;

/// <summary>
/// One <see cref="IChatClient"/> over several models of one provider: each call goes to the client of the model named in
/// <see cref="ChatOptions.ModelId"/>, or to the default model's when it names none or an unknown one. Provider errors it
/// recognises (<see cref="ProviderErrors"/>) leave it as a <see cref="BotFailureException"/> carrying only the words for the
/// user, so the logging and telemetry layers above never record the provider's raw message.
/// </summary>
/// <param name="clients">A client per model id (each bound to its model); must contain <paramref name="defaultModel"/>.</param>
/// <param name="defaultModel">The model id used when a call names none.</param>
public sealed class ModelRouter(IReadOnlyDictionary<string, IChatClient> clients, string defaultModel) : IChatClient
{
    private readonly IChatClient _default = clients[defaultModel];

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return await Pick(options).GetResponseAsync(messages, options, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ProviderErrors.Describe(ex) is { } failure)
        {
            throw new BotFailureException(failure);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var updates = Pick(options).GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await updates.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ProviderErrors.Describe(ex) is { } failure)
            {
                throw new BotFailureException(failure);
            }

            yield return updates.Current;
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : _default.GetService(serviceType, serviceKey);

    /// <summary>Disposes every model's client.</summary>
    public void Dispose()
    {
        foreach (var client in clients.Values)
        {
            client.Dispose();
        }
    }

    private IChatClient Pick(ChatOptions? options) =>
        options?.ModelId is { } id && clients.TryGetValue(id, out var client) ? client : _default;
}
