import { useCallback, useEffect, useRef, useState } from 'react';
import { useApi } from '../lib/api-context';
import { ApiError, NetworkError, describeError, isAbortError } from '../lib/errors';
import { followTurn, pause } from '../lib/follow';
import { LOCAL_PREFIX, isLocalMessage, mergeMessages } from '../lib/messages';
import type { ChatEvent, Conversation, Message as MessageModel, ModelInfo, ProblemDetails } from '../lib/types';

export const PAGE_SIZE = 30;
/** Local (not yet stored) messages sort after every stored one. */
const LOCAL_SEQUENCE = Number.MAX_SAFE_INTEGER;

export interface UseChatOptions {
  /** The conversation to show, or null for a new chat (created on the first send). */
  conversationId: string | null;
  onConversationCreated: (conversation: Conversation) => void;
  /** A turn started or ended in this conversation: its title, order and count may have changed. */
  onActivity: (conversationId: string) => void;
  onBalance: (tokenBalance: number) => void;
  onRefreshBalance: () => void;
}

export interface ChatError {
  message: string;
  retryable?: boolean;
}

export type LoadState = { kind: 'loading' } | { kind: 'ready' } | { kind: 'not-found' } | { kind: 'error'; message: string };

/** Re-reads of a conversation after a failure: the waits double from 250 ms up to 8 s (about a minute in all). */
const RECOVERY_ATTEMPTS = 12;
const MAX_RECOVERY_WAIT_MS = 8_000;

/** What the events after a turn's `user` event change on screen (the sent and the followed stream alike). */
interface ReplyView {
  setMessages: (change: (current: MessageModel[]) => MessageModel[]) => void;
  setAnnouncement: (text: string) => void;
  onBalance: (tokenBalance: number) => void;
}

/**
 * Shows a reply event in the assistant draft `draftKey`: a delta extends it, the stored reply replaces it (and settles
 * its user message's status). Returns the problem of an `error` event, for the caller to report once the stream ends.
 */
function applyReplyEvent(event: ChatEvent, draftKey: string, view: ReplyView): ProblemDetails | null {
  switch (event.type) {
    case 'delta':
      view.setMessages((current) =>
        current.map((m) => (m.id === draftKey ? { ...m, content: m.content + event.text } : m)),
      );
      break;
    case 'assistant': {
      const reply = event.assistantMessage;
      view.setMessages((current) =>
        current.map((m) =>
          m.id === draftKey
            ? reply
            : (reply.parentId ? m.id === reply.parentId : m.sequence === reply.sequence - 1)
              ? { ...m, status: reply.status }
              : m,
        ),
      );
      view.setAnnouncement(`Reply: ${reply.content}`);
      view.onBalance(event.tokenBalance);
      break;
    }
    case 'error':
      return event.problem;
    case 'invalid':
      console.warn(`Ignored a malformed "${event.event}" event: ${event.reason}`);
      break;
    case 'user':
      break;
  }
  return null;
}

/**
 * The state of one conversation, like ai-chatbot's useChat: its messages (newest page first, older pages on
 * demand), the composer's text, the streaming status of a turn, stop, and the error to show.
 */
export function useChat({
  conversationId: initialConversationId,
  onConversationCreated,
  onActivity,
  onBalance,
  onRefreshBalance,
}: UseChatOptions) {
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
  /** The connection to a running turn was lost and is being re-established (GET /stream with Last-Event-ID). */
  const [reconnecting, setReconnecting] = useState(false);
  /** The follow of a turn found running when the conversation was loaded; aborted when the chat unmounts. */
  const followRef = useRef<AbortController | null>(null);
  const [error, setError] = useState<ChatError | null>(null);
  /** What a screen reader announces once a reply is complete (the streamed words are not read one by one). */
  const [announcement, setAnnouncement] = useState('');
  const [sendCount, setSendCount] = useState(0);
  const controllerRef = useRef<AbortController | null>(null);
  /** The running turn was accepted (its user message stored): Stop goes through the server then. */
  const acceptedRef = useRef(false);
  /** A new chat's model picker (GET /api/models); an existing conversation keeps its model. */
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
        // A reply still being written (this tab reloaded, or another tab sent it): show it continuing.
        const last = page.items.at(-1);
        if (last?.role === 'user' && last.status === 'pending' && !controllerRef.current) {
          const controller = new AbortController();
          followRef.current = controller;
          controllerRef.current = controller;
          acceptedRef.current = true;
          const draftKey = `${LOCAL_PREFIX}assistant:${last.id}`;
          setMessages((current) => [
            ...current,
            {
              id: draftKey,
              conversationId: mountedWith,
              sequence: LOCAL_SEQUENCE,
              role: 'assistant',
              content: '',
              status: 'pending',
              createdAt: new Date().toISOString(),
            },
          ]);
          setStreaming(true);
          void latest.current.follow(mountedWith, draftKey, null, controller.signal).finally(() => {
            if (controllerRef.current === controller) controllerRef.current = null;
            if (followRef.current === controller) followRef.current = null;
            setStreaming(false);
            latest.current.onActivity(mountedWith);
          });
        }
      },
      (caught: unknown) => {
        if (!active) return;
        if (caught instanceof ApiError && caught.status === 404) setLoad({ kind: 'not-found' });
        else setLoad({ kind: 'error', message: describeError(caught) });
      },
    );
    return () => {
      active = false;
      followRef.current?.abort(); // the turn goes on at the server; coming back follows it again
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

  /**
   * Replaces what is shown with the stored state of the latest page (after a stop or a failure). While the server is
   * unreachable it tries again with backoff (sooner when the browser comes back online); while the last reply is still
   * pending it waits for the server to settle it. Resolves true once a settled state is shown.
   */
  const showStoredState = useCallback(
    async (id: string, signal?: AbortSignal): Promise<boolean> => {
      let wait = 250;
      for (let attempt = 0; attempt < RECOVERY_ATTEMPTS; attempt++) {
        if (attempt > 0) {
          await pause(wait, signal);
          wait = Math.min(wait * 2, MAX_RECOVERY_WAIT_MS);
        }
        if (signal?.aborted) return false;
        let page;
        try {
          page = await api.listMessages(id, { from: 'end', limit: PAGE_SIZE });
        } catch (caught) {
          // Unreachable or busy: try again. Any other answer (404, session over) will not change by waiting.
          if (caught instanceof NetworkError || (caught instanceof ApiError && (caught.status >= 500 || caught.status === 429))) {
            continue;
          }
          return false;
        }
        const items = page.items;
        const first = items[0];
        // Keep the cursor of older pages already shown; otherwise this page's cursor leads further back.
        const olderShown =
          first !== undefined && messagesRef.current.some((m) => !isLocalMessage(m) && m.sequence < first.sequence);
        if (!olderShown) setOlderCursor(page.nextCursor);
        setMessages((current) => mergeMessages(current, items));
        // The server finalises a stopped or cut-off reply a moment after the connection closes.
        if (items.at(-1)?.status !== 'pending') return true;
      }
      return false;
    },
    [api],
  );

  /**
   * Follows the conversation's running turn into the assistant draft `draftKey` (GET /stream after `lastEventId`; from
   * the start of the turn without one), reconnecting with backoff while the connection is lost. Resolves once the turn's
   * end is shown: its stored reply, or the failure and then the stored state.
   */
  const follow = useCallback(
    async (id: string, draftKey: string, lastEventId: string | null, signal: AbortSignal) => {
      const updateDraft = (change: (draft: MessageModel) => MessageModel) =>
        setMessages((current) => current.map((m) => (m.id === draftKey ? change(m) : m)));
      let failure = null as ProblemDetails | null;
      const end = await followTurn(
        (last, abort) => api.followTurn(id, last, abort),
        lastEventId,
        {
          onEvent: (event) => {
            if (event.type === 'user') {
              setMessages((current) => current.map((m) => (m.id === event.userMessage.id ? event.userMessage : m)));
            }
            failure = applyReplyEvent(event, draftKey, { setMessages, setAnnouncement, onBalance }) ?? failure;
          },
          onReconnecting: setReconnecting,
        },
        signal,
      );
      setReconnecting(false);
      if (end.kind === 'aborted' || (end.kind === 'final' && !failure)) return;
      if (failure) {
        setError({ message: failure.detail || failure.title || 'The reply failed. Your tokens were refunded.' });
        if (typeof failure.tokenBalance === 'number') onBalance(failure.tokenBalance);
        else onRefreshBalance();
      } else if (end.kind === 'failed') {
        setError({ message: describeError(end.error) });
      }
      // The turn ended without its final event reaching us (or failed): show what the server stored.
      if (failure || end.kind === 'failed') updateDraft((draft) => ({ ...draft, status: 'failed' }));
      await showStoredState(id, signal);
    },
    [api, onBalance, onRefreshBalance, showStoredState],
  );

  // The load effect reads these through a ref: it reruns only when the conversation (or a reload) asks for it.
  const latest = useRef({ follow, onActivity });
  useEffect(() => {
    latest.current = { follow, onActivity };
  }, [follow, onActivity]);

  /**
   * Deletes a conversation created for a first turn the server did not accept, if it is still empty (a request lost
   * on the way back may have been stored: then it stays, and a retry with the same clientMessageId finds it).
   */
  const discard = useCallback(
    async (id: string, content: string) => {
      try {
        const page = await api.listMessages(id, { from: 'end', limit: 1 });
        if (page.items.length > 0) {
          // The turn was stored after all: show it, and take back the text and the error shown for it.
          onConversationCreated(await api.getConversation(id));
          attemptRef.current = null;
          setError(null);
          setInput((current) =>
            current === content ? '' : current.startsWith(`${content}\n\n`) ? current.slice(content.length + 2) : current,
          );
          await showStoredState(id);
          return;
        }
        await api.deleteConversation(id);
        if (conversationIdRef.current === id) conversationIdRef.current = null;
      } catch {
        // Unreachable: keep the id, so a retry of the same text (same clientMessageId) goes to the same conversation.
      }
    },
    [api, onConversationCreated, showStoredState],
  );

  /** Shows the current branch's newest page in place of what is shown (after an edit, a regenerate or a switch). */
  const showBranch = useCallback(
    async (id: string) => {
      const page = await api.listMessages(id, { from: 'end', limit: PAGE_SIZE });
      setMessages(page.items);
      setOlderCursor(page.nextCursor);
    },
    [api],
  );

  /**
   * Sends a message; with `edit`, a new version of an earlier user message (`edit.messageId`): the thread is cut
   * before it and the new message goes after `edit.parentId` (the server keeps the old one as a sibling).
   */
  const send = useCallback(
    async (content: string, edit?: { messageId: string; parentId: string | null }) => {
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
      setMessages((current) => {
        const cut = edit ? current.findIndex((m) => m.id === edit.messageId) : -1;
        return [...(cut >= 0 ? current.slice(0, cut) : current), placeholder(userKey, 'user'), placeholder(draftKey, 'assistant')];
      });

      let id = conversationIdRef.current;
      // A new chat's conversation is created for its first turn, announced (sidebar, URL) only once the server
      // accepted that turn, and deleted again when the server refused it: a failed first send leaves nothing behind.
      let created: Conversation | null = null;
      let accepted = false;
      let completed = false;
      let failure: ProblemDetails | null = null;
      let lastEventId: string | null = null;
      try {
        if (!id) {
          created = await api.createConversation(undefined, model || undefined);
          id = created.id;
          conversationIdRef.current = id;
        }
        const events = await api.streamMessage(id, content, clientMessageId, controller.signal, edit?.parentId);
        for await (const event of events) {
          if (event.id) lastEventId = event.id;
          switch (event.type) {
            case 'user':
              accepted = true;
              acceptedRef.current = true;
              attemptRef.current = null;
              if (created) onConversationCreated(created);
              replace(userKey, event.userMessage);
              onBalance(event.tokenBalance);
              onActivity(id);
              break;
            default:
              completed ||= event.type === 'assistant';
              failure = applyReplyEvent(event, draftKey, { setMessages, setAnnouncement, onBalance }) ?? failure;
              break;
          }
        }
        if (failure) {
          setError({ message: failure.detail || failure.title || 'The reply failed. Your tokens were refunded.' });
          updateDraft((draft) => ({ ...draft, status: 'failed' }));
          if (typeof failure.tokenBalance === 'number') onBalance(failure.tokenBalance);
          else onRefreshBalance();
          await showStoredState(id);
        } else if (!completed && accepted) {
          // The stream ended mid-reply, but the turn goes on at the server: follow it from the last event received.
          await follow(id, draftKey, lastEventId, controller.signal);
        } else if (!completed) {
          setError({ message: 'The reply was cut off. What the server stored is shown.' });
          updateDraft((draft) => ({ ...draft, status: 'failed' }));
          await showStoredState(id);
        } else if (edit) {
          await showBranch(id).catch(() => undefined); // the edited message's versions ("< 2/2 >")
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
        } else if (id && (caught instanceof NetworkError || caught instanceof TypeError)) {
          // The connection dropped after the server accepted the turn: the server goes on with it. Reconnect to its
          // stream after the last event received (with backoff, shown as "reconnecting") and show the rest.
          await follow(id, draftKey, lastEventId, controller.signal);
        } else {
          setError({ message: describeError(caught) });
          updateDraft((draft) => ({ ...draft, status: 'failed' }));
          if (id) await showStoredState(id);
        }
      } finally {
        controllerRef.current = null;
        if (created && !accepted) await discard(created.id, content);
        setStreaming(false);
        if (id && (!created || accepted)) onActivity(id);
      }
    },
    [api, discard, follow, model, onActivity, onBalance, onConversationCreated, onRefreshBalance, showBranch, showStoredState],
  );

  /** Writes a new version of an assistant message: the thread is cut at it, the new reply streams in its place. */
  const regenerate = useCallback(
    async (messageId: string) => {
      const id = conversationIdRef.current;
      if (controllerRef.current || !id) return;
      const controller = new AbortController();
      controllerRef.current = controller;
      acceptedRef.current = false;
      const clientMessageId = crypto.randomUUID();
      const draftKey = `${LOCAL_PREFIX}assistant:${clientMessageId}`;
      const updateDraft = (change: (draft: MessageModel) => MessageModel) =>
        setMessages((current) => current.map((m) => (m.id === draftKey ? change(m) : m)));
      setStreaming(true);
      setError(null);
      setMessages((current) => {
        const cut = current.findIndex((m) => m.id === messageId);
        const draft: MessageModel = {
          id: draftKey,
          conversationId: id,
          sequence: LOCAL_SEQUENCE,
          role: 'assistant',
          content: '',
          status: 'pending',
          createdAt: new Date().toISOString(),
        };
        return [...(cut >= 0 ? current.slice(0, cut) : current), draft];
      });
      try {
        const events = await api.streamRegenerate(id, messageId, clientMessageId, controller.signal);
        for await (const event of events) {
          if (event.type === 'delta') updateDraft((draft) => ({ ...draft, content: draft.content + event.text }));
          else if (event.type === 'assistant') {
            setAnnouncement(`Reply: ${event.assistantMessage.content}`);
            onBalance(event.tokenBalance);
          } else if (event.type === 'error') {
            setError({ message: event.problem.detail || event.problem.title || 'The reply failed. Nothing was charged.' });
          }
        }
      } catch (caught) {
        if (!isAbortError(caught)) setError({ message: describeError(caught) });
      } finally {
        controllerRef.current = null;
        await showBranch(id).catch(() => undefined); // the stored versions, whatever happened
        setStreaming(false);
        onActivity(id);
      }
    },
    [api, onActivity, onBalance, showBranch],
  );

  /** Shows another version of a message (its sibling `messageId`) and the newest branch below it. */
  const switchBranch = useCallback(
    async (messageId: string) => {
      const id = conversationIdRef.current;
      if (controllerRef.current || !id) return;
      try {
        await api.switchBranch(id, messageId);
        await showBranch(id);
      } catch (caught) {
        setError({ message: describeError(caught) });
      }
    },
    [api, showBranch],
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

  const reload = useCallback(() => setReloadCount((n) => n + 1), []);

  return {
    messages,
    load,
    reload,
    hasOlder: olderCursor !== null,
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
    /** The conversation's id once it exists (a new chat's is set by its first send). */
    conversationId: conversationIdRef.current,
    models,
    model,
    setModel,
  };
}
