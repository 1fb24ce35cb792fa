using Microsoft.Extensions.AI;

namespace Parley.Server.Models;

/// <summary>
/// One <see cref="IChatClient"/> over several models of one provider: each call goes to the client of the model named in
/// <see cref="ChatOptions.ModelId"/>, or to the default model's when it names none or an unknown one.
/// </summary>
/// <param name="clients">A client per model id (each bound to its model); must contain <paramref name="defaultModel"/>.</param>
/// <param name="defaultModel">The model id used when a call names none.</param>
public sealed class ModelRouter(IReadOnlyDictionary<string, IChatClient> clients, string defaultModel) : IChatClient
{
    private readonly IChatClient _default = clients[defaultModel];

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Pick(options).GetResponseAsync(messages, options, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Pick(options).GetStreamingResponseAsync(messages, options, cancellationToken);

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
