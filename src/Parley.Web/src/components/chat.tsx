import { useCallback, useEffect } from 'react';
import { useChat, type UseChatOptions } from '../hooks/use-chat';
import { useRevealMessage, type RevealTarget } from '../hooks/use-reveal-message';
import { navigate } from '../lib/router';
import type { Message as MessageModel } from '../lib/types';
import { ConversationSettings, ModelPicker } from './chat-settings';
import { ErrorBanner } from './error-banner';
import { MessageInput } from './message-input';
import { Messages } from './messages';

export { PAGE_SIZE } from '../hooks/use-chat';

interface ChatProps extends UseChatOptions {
  /** The balance cannot pay for one more message: sending is disabled and the notice says why. */
  outOfTokens?: boolean;
  balance?: number | null;
  costPerMessage?: number | null;
  /** A message to open the conversation at (a search result): scrolled to and highlighted, on its branch. */
  reveal?: RevealTarget | null;
}

const format = new Intl.NumberFormat();

/** On phones, focusing the composer would pop up the keyboard over the conversation. */
const wideScreen = () => typeof window.matchMedia !== 'function' || window.matchMedia('(min-width: 768px)').matches;

/**
 * One conversation: its history (newest page first, older pages on scroll-up), the composer, and the
 * streaming of each turn (hooks/use-chat.ts). Mounted per conversation (keyed by the parent); a reply that is
 * still streaming when the user switches away completes at the server, and coming back (or reloading) shows it
 * continuing from where it is. A lost connection reconnects on its own, shown as "reconnecting".
 */
export function Chat({ outOfTokens = false, balance = null, costPerMessage = null, reveal = null, ...options }: ChatProps) {
  const {
    messages,
    load,
    reload,
    hasOlder,
    loadingOlder,
    loadOlder,
    input,
    setInput,
    streaming,
    reconnecting,
    error,
    setError,
    announcement,
    sendCount,
    send,
    regenerate,
    switchBranch,
    stop,
    conversationId,
    models,
    model,
    setModel,
  } = useChat(options);

  // Stable callbacks: the messages are memoised and must not re-render for every streamed chunk.
  const edit = useCallback(
    (message: MessageModel, content: string) => void send(content, { messageId: message.id, parentId: message.parentId ?? null }),
    [send],
  );
  const regenerateReply = useCallback((message: MessageModel) => void regenerate(message.id), [regenerate]);
  const showVersion = useCallback((messageId: string) => void switchBranch(messageId), [switchBranch]);
  const { revealId, onRevealed } = useRevealMessage(reveal, { load, messages, hasOlder, loadingOlder, loadOlder, switchBranch, streaming });

  // Escape stops a running reply (unless a dialog or the drawer is open: Escape closes those first).
  useEffect(() => {
    if (!streaming) return;
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented || document.querySelector('[aria-modal="true"]')) return;
      event.preventDefault();
      stop();
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [streaming, stop]);

  if (load.kind === 'not-found') {
    return (
      <div className="flex flex-1 flex-col items-center justify-center gap-3 p-6 text-center">
        <h2 className="text-lg font-semibold text-zinc-900">Conversation not found</h2>
        <p className="max-w-sm text-sm text-zinc-500">It may have been deleted, or it belongs to another account.</p>
        <button type="button" className="btn-primary h-9 px-4" onClick={() => navigate('/')}>
          Start a new chat
        </button>
      </div>
    );
  }

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      {load.kind === 'loading' ? (
        <div className="flex flex-1 items-center justify-center text-sm text-zinc-500" role="status">
          Loading conversation…
        </div>
      ) : load.kind === 'error' ? (
        <div className="flex flex-1 items-start justify-center p-6">
          <ErrorBanner
            className="w-full max-w-3xl"
            message={load.message}
            action={{ label: 'Try again', onClick: reload }}
          />
        </div>
      ) : (
        <Messages
          messages={messages}
          hasOlder={hasOlder}
          loadingOlder={loadingOlder}
          onLoadOlder={loadOlder}
          sendCount={sendCount}
          onExample={(prompt) => (outOfTokens ? setInput(prompt) : void send(prompt))}
          busy={streaming}
          onEdit={outOfTokens ? undefined : edit}
          onRegenerate={outOfTokens ? undefined : regenerateReply}
          onSwitch={showVersion}
          revealId={revealId}
          onRevealed={onRevealed}
        />
      )}
      <div className="sr-only" role="status" aria-live="polite" aria-atomic="true" data-testid="reply-announcement">
        {announcement}
      </div>
      <div className="shrink-0 bg-white px-3 pt-2 pb-3 sm:px-6 sm:pb-4">
        {reconnecting && (
          <p
            role="status"
            data-testid="reconnecting"
            className="mx-auto mb-2 flex w-full max-w-3xl items-center gap-2 rounded-xl border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900"
          >
            <span className="size-2 animate-pulse rounded-full bg-amber-500" aria-hidden="true" />
            Connection lost — reconnecting to the reply…
          </p>
        )}
        {error && (
          <ErrorBanner
            className="mx-auto mb-2 w-full max-w-3xl"
            message={error.message}
            onDismiss={() => setError(null)}
            action={error.retryable && input.trim() ? { label: 'Retry', onClick: () => void send(input) } : undefined}
          />
        )}
        {outOfTokens && (
          <p
            role="status"
            data-testid="out-of-tokens"
            className="mx-auto mb-2 w-full max-w-3xl rounded-xl border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900"
          >
            You are out of tokens, so sending is turned off.
            {costPerMessage !== null && balance !== null &&
              ` Each message costs ${format.format(costPerMessage)} tokens and your balance is ${format.format(balance)}.`}{' '}
            Your conversations stay readable.
          </p>
        )}
        {conversationId ? (
          <ConversationSettings conversationId={conversationId} />
        ) : (
          <ModelPicker models={models} value={model} onChange={setModel} disabled={streaming} />
        )}
        <MessageInput
          value={input}
          onChange={setInput}
          onSend={(content) => void send(content)}
          onStop={stop}
          streaming={streaming}
          disabled={load.kind !== 'ready'}
          sendDisabled={outOfTokens}
          placeholder={outOfTokens ? 'You are out of tokens' : 'Send a message'}
          autoFocus={wideScreen()}
        />
      </div>
    </div>
  );
}
