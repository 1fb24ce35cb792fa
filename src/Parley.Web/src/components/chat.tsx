import { useCallback, useEffect, useRef, useState } from 'react';
import { useApi } from '../lib/api-context';
import { ApiError, NetworkError, describeError, isAbortError } from '../lib/errors';
import { navigate } from '../lib/router';
import { LOCAL_PREFIX, isLocalMessage, mergeMessages } from '../lib/messages';
import type { Conversation, Message as MessageModel, ModelInfo, ProblemDetails } from '../lib/types';
import { ConversationSettings, ModelPicker } from './chat-settings';
import { ErrorBanner } from './error-banner';
import { MessageInput } from './message-input';
import { Messages } from './messages';

export const PAGE_SIZE = 30;
/** Local (not yet stored) messages sort after every stored one. */
const LOCAL_SEQUENCE = Number.MAX_SAFE_INTEGER;

interface ChatProps {
  /** The conversation to show, or null for a new chat (created on the first send). */
  conversationId: string | null;
  onConversationCreated: (conversation: Conversation) => void;
  /** A turn started or ended in this conversation: its title, order and count may have changed. */
  onActivity: (conversationId: string) => void;
  onBalance: (tokenBalance: number) => void;
  onRefreshBalance: () => void;
  outOfTokens?: boolean;
}

interface ChatError {
  message: string;
  retryable?: boolean;
}

type LoadState = { kind: 'loading' } | { kind: 'ready' } | { kind: 'not-found' } | { kind: 'error'; message: string };

/** On phones, focusing the composer would pop up the keyboard over the conversation. */
const wideScreen = () => typeof window.matchMedia !== 'function' || window.matchMedia('(min-width: 768px)').matches;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One conversation: its history (newest page first, older pages on scroll-up), the composer, and the
 * streaming of each turn. Mounted per conversation (keyed by the parent); a reply that is still
 * streaming when the user switches away completes in the background.
 */
export function Chat({
  conversationId: initialConversationId,
  onConversationCreated,
  onActivity,
  onBalance,
  onRefreshBalance,
  outOfTokens = false,
}: ChatProps) {
  const api = useApi();
  const [mountedWith] = useState(initialConversationId);
  const conversationIdRef = useRef(initialConversationId);
  const [messages, setMessages] = useState<MessageModel[]>([]);
  const messagesRef = useRef(messages);
  useEffect(() => {
    messagesRef.current = messages;
  }, [messages]);
  const [olderCursor, setOlderCursor] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [load, setLoad] = useState<LoadState>(initialConversationId ? { kind: 'loading' } : { kind: 'ready' });
  const [reloadCount, setReloadCount] = useState(0);
  const [input, setInput] = useState('');
  const [streaming, setStreaming] = useState(false);
  const [error, setError] = useState<ChatError | null>(null);
  const [sendCount, setSendCount] = useState(0);
  const controllerRef = useRef<AbortController | null>(null);
  /** The running turn was accepted (its user message stored): Stop goes through the server then. */
  const acceptedRef = useRef(false);
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [model, setModel] = useState('');

  useEffect(() => {
    if (mountedWith) return;
    let active = true;
    api.listModels().then(
      (list) => {
        if (!active) return;
        setModels(list.items);
        setModel((current) => current || (list.items.find((m) => m.isDefault) ?? list.items[0])?.id || '');
      },
      () => undefined, // No picker: the server's default model answers.
    );
    return () => {
      active = false;
    };
  }, [api, mountedWith]);
  /** The last send attempt not yet accepted: resending the same text reuses its clientMessageId. */
  const attemptRef = useRef<{ content: string; clientMessageId: string } | null>(null);

  useEffect(() => {
    if (!mountedWith) return;
    let active = true;
    setLoad({ kind: 'loading' });
    api.listMessages(mountedWith, { from: 'end', limit: PAGE_SIZE }).then(
      (page) => {
        if (!active) return;
        setMessages((current) => mergeMessages(current, page.items));
        setOlderCursor(page.nextCursor);
        setLoad({ kind: 'ready' });
      },
      (caught: unknown) => {
        if (!active) return;
        if (caught instanceof ApiError && caught.status === 404) setLoad({ kind: 'not-found' });
        else setLoad({ kind: 'error', message: describeError(caught) });
      },
    );
    return () => {
      active = false;
    };
  }, [api, mountedWith, reloadCount]);

  const loadingOlderRef = useRef(false);
  const loadOlder = useCallback(() => {
    const id = conversationIdRef.current;
    if (!id || !olderCursor || loadingOlderRef.current) return;
    loadingOlderRef.current = true;
    setLoadingOlder(true);
    api
      .listMessages(id, { cursor: olderCursor, limit: PAGE_SIZE })
      .then(
        (page) => {
          setMessages((current) => mergeMessages(current, page.items));
          setOlderCursor(page.nextCursor);
        },
        (caught: unknown) => setError({ message: describeError(caught) }),
      )
      .finally(() => {
        loadingOlderRef.current = false;
        setLoadingOlder(false);
      });
  }, [api, olderCursor]);

  /** Replaces what is shown with the stored state of the latest page (after a stop or a failure). */
  const showStoredState = useCallback(
    async (id: string) => {
      for (let attempt = 0; attempt < 6; attempt++) {
        let page;
        try {
          page = await api.listMessages(id, { from: 'end', limit: PAGE_SIZE });
        } catch {
          return; // Offline: keep what is shown; the error banner already says what happened.
        }
        const items = page.items;
        const first = items[0];
        // Keep the cursor of older pages already shown; otherwise this page's cursor leads further back.
        const olderShown =
          first !== undefined && messagesRef.current.some((m) => !isLocalMessage(m) && m.sequence < first.sequence);
        if (!olderShown) setOlderCursor(page.nextCursor);
        setMessages((current) => mergeMessages(current, items));
        // The server finalises a stopped reply a moment after the connection closes.
        if (items.at(-1)?.status !== 'pending') return;
        await delay(250 * (attempt + 1));
      }
    },
    [api],
  );

  const send = useCallback(
    async (content: string) => {
      if (controllerRef.current) return;
      const previous = attemptRef.current;
      const clientMessageId =
        previous && previous.content === content ? previous.clientMessageId : crypto.randomUUID();
      attemptRef.current = { content, clientMessageId };

      const controller = new AbortController();
      controllerRef.current = controller;
      acceptedRef.current = false;
      const userKey = `${LOCAL_PREFIX}user:${clientMessageId}`;
      const draftKey = `${LOCAL_PREFIX}assistant:${clientMessageId}`;
      const placeholder = (id: string, role: MessageModel['role']): MessageModel => ({
        id,
        conversationId: conversationIdRef.current ?? '',
        sequence: LOCAL_SEQUENCE,
        role,
        content: role === 'user' ? content : '',
        status: 'pending',
        createdAt: new Date().toISOString(),
      });
      const replace = (key: string, message: MessageModel) =>
        setMessages((current) => current.map((m) => (m.id === key ? message : m)));
      const updateDraft = (change: (draft: MessageModel) => MessageModel) =>
        setMessages((current) => current.map((m) => (m.id === draftKey ? change(m) : m)));
      const restoreInput = () => setInput((current) => (current.trim() ? `${content}\n\n${current}` : content));

      setStreaming(true);
      setError(null);
      setInput('');
      setSendCount((count) => count + 1);
      setMessages((current) => [...current, placeholder(userKey, 'user'), placeholder(draftKey, 'assistant')]);

      let id = conversationIdRef.current;
      let accepted = false;
      let completed = false;
      let failure: ProblemDetails | null = null;
      try {
        if (!id) {
          const conversation = await api.createConversation(undefined, model || undefined);
          id = conversation.id;
          conversationIdRef.current = id;
          onConversationCreated(conversation);
        }
        const events = await api.streamMessage(id, content, clientMessageId, controller.signal);
        for await (const event of events) {
          switch (event.type) {
            case 'user':
              accepted = true;
              acceptedRef.current = true;
              attemptRef.current = null;
              replace(userKey, event.userMessage);
              onBalance(event.tokenBalance);
              onActivity(id);
              break;
            case 'delta':
              updateDraft((draft) => ({ ...draft, content: draft.content + event.text }));
              break;
            case 'assistant':
              completed = true;
              replace(draftKey, event.assistantMessage);
              onBalance(event.tokenBalance);
              break;
            case 'error':
              failure = event.problem;
              break;
            case 'invalid':
              console.warn(`Ignored a malformed "${event.event}" event: ${event.reason}`);
              break;
          }
        }
        if (failure) {
          setError({ message: failure.detail || failure.title || 'The reply failed. Your tokens were refunded.' });
          updateDraft((draft) => ({ ...draft, status: 'failed' }));
          if (typeof failure.tokenBalance === 'number') onBalance(failure.tokenBalance);
          else onRefreshBalance();
          await showStoredState(id);
        } else if (!completed) {
          setError({ message: 'The reply was cut off. What the server stored is shown.' });
          updateDraft((draft) => ({ ...draft, status: 'failed' }));
          await showStoredState(id);
        }
      } catch (caught) {
        if (isAbortError(caught)) {
          if (!accepted) {
            setMessages((current) => current.filter((m) => m.id !== userKey && m.id !== draftKey));
            restoreInput();
          } else {
            updateDraft((draft) => ({ ...draft, status: 'cancelled' }));
          }
          if (id) await showStoredState(id);
        } else if (!accepted) {
          // Nothing was stored: put the text back so nothing typed is lost.
          setMessages((current) => current.filter((m) => m.id !== userKey && m.id !== draftKey));
          restoreInput();
          const retryable =
            caught instanceof NetworkError ||
            (caught instanceof ApiError && (caught.status >= 500 || caught.status === 429));
          setError({ message: describeError(caught), retryable });
          if (caught instanceof ApiError && typeof caught.problem.tokenBalance === 'number') {
            onBalance(caught.problem.tokenBalance);
          } else if (caught instanceof ApiError && caught.status === 402) {
            onRefreshBalance();
          }
        } else {
          setError({
            message:
              caught instanceof NetworkError || caught instanceof TypeError
                ? 'The connection was lost while the reply was streaming. Your message was saved.'
                : describeError(caught),
          });
          updateDraft((draft) => ({ ...draft, status: 'failed' }));
          if (id) await showStoredState(id);
        }
      } finally {
        controllerRef.current = null;
        setStreaming(false);
        if (id) onActivity(id);
      }
    },
    [api, model, onActivity, onBalance, onConversationCreated, onRefreshBalance, showStoredState],
  );

  // Stop asks the server to stop the turn (as any tab may): the stream then ends with the stored, cancelled reply.
  // Before the turn was accepted, or when the server cannot be asked, the request itself is aborted instead.
  const stop = useCallback(() => {
    const controller = controllerRef.current;
    const id = conversationIdRef.current;
    if (!controller) return;
    if (!id || !acceptedRef.current) {
      controller.abort();
      return;
    }
    api.stopTurn(id).then(
      () => {
        setTimeout(() => {
          if (controllerRef.current === controller) controller.abort(); // the stream did not end: stop reading it
        }, 5000);
      },
      () => controller.abort(),
    );
  }, [api]);

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
            action={{ label: 'Try again', onClick: () => setReloadCount((n) => n + 1) }}
          />
        </div>
      ) : (
        <Messages
          messages={messages}
          hasOlder={olderCursor !== null}
          loadingOlder={loadingOlder}
          onLoadOlder={loadOlder}
          sendCount={sendCount}
        />
      )}
      <div className="shrink-0 bg-white px-3 pt-2 pb-3 sm:px-6 sm:pb-4">
        {error && (
          <ErrorBanner
            className="mx-auto mb-2 w-full max-w-3xl"
            message={error.message}
            onDismiss={() => setError(null)}
            action={error.retryable && input.trim() ? { label: 'Retry', onClick: () => void send(input) } : undefined}
          />
        )}
        {conversationIdRef.current ? (
          <ConversationSettings conversationId={conversationIdRef.current} />
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
          placeholder={outOfTokens ? 'You are out of tokens' : 'Send a message'}
          autoFocus={wideScreen()}
        />
      </div>
    </div>
  );
}
