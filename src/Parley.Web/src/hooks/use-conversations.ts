import { useCallback, useEffect, useRef, useState } from 'react';
import { useApi } from '../lib/api-context';
import { ApiError, describeError } from '../lib/errors';
import type { Conversation } from '../lib/types';

const PAGE_SIZE = 30;

interface ConversationsState {
  items: Conversation[];
  nextCursor: string | null;
  status: 'loading' | 'ready' | 'error';
  error: string | null;
  loadingMore: boolean;
}

/** The sidebar's list: newest activity first, paged with the server's cursor. */
export function useConversations() {
  const api = useApi();
  const [state, setState] = useState<ConversationsState>({
    items: [],
    nextCursor: null,
    status: 'loading',
    error: null,
    loadingMore: false,
  });
  const [reloadCount, setReloadCount] = useState(0);
  /** The Archived view lists only archived conversations; the normal list leaves them out. */
  const [archived, setArchivedView] = useState(false);
  // Refreshes of one conversation can resolve out of order: only the latest request per id counts.
  const refreshTickets = useRef(new Map<string, number>());

  useEffect(() => {
    let active = true;
    api.listConversations({ limit: PAGE_SIZE, archived }).then(
      (page) => {
        if (active) setState((s) => ({ ...s, items: page.items, nextCursor: page.nextCursor, status: 'ready', error: null }));
      },
      (caught: unknown) => {
        if (active) setState((s) => ({ ...s, status: 'error', error: describeError(caught) }));
      },
    );
    return () => {
      active = false;
    };
  }, [api, reloadCount, archived]);

  /** Switches between the normal list and the Archived view. */
  const showArchived = useCallback((show: boolean) => {
    setState((s) => ({ ...s, items: [], nextCursor: null, status: 'loading', error: null }));
    setArchivedView(show);
  }, []);

  const reload = useCallback(() => {
    setState((s) => ({ ...s, status: 'loading', error: null }));
    setReloadCount((n) => n + 1);
  }, []);

  const loadingMoreRef = useRef(false);
  const loadMore = useCallback(() => {
    const cursor = state.nextCursor;
    if (!cursor || loadingMoreRef.current) return;
    loadingMoreRef.current = true;
    setState((s) => ({ ...s, loadingMore: true }));
    api
      .listConversations({ limit: PAGE_SIZE, cursor, archived })
      .then(
        (page) =>
          setState((s) => {
            const known = new Set(s.items.map((c) => c.id));
            return {
              ...s,
              items: [...s.items, ...page.items.filter((c) => !known.has(c.id))],
              nextCursor: page.nextCursor,
            };
          }),
        (caught: unknown) => setState((s) => ({ ...s, error: describeError(caught) })),
      )
      .finally(() => {
        loadingMoreRef.current = false;
        setState((s) => ({ ...s, loadingMore: false }));
      });
  }, [api, state.nextCursor, archived]);

  /** Puts a conversation at the top of its kind (it just had activity): pinned ones stay above the rest. */
  const moveToTop = useCallback((conversation: Conversation) => {
    setState((s) => {
      const others = s.items.filter((c) => c.id !== conversation.id);
      const at = conversation.pinned ? 0 : others.findIndex((c) => !c.pinned);
      const index = at < 0 ? others.length : at;
      return { ...s, items: [...others.slice(0, index), conversation, ...others.slice(index)] };
    });
  }, []);

  /** Updates a conversation where it is. */
  const replace = useCallback((conversation: Conversation) => {
    setState((s) => ({ ...s, items: s.items.map((c) => (c.id === conversation.id ? conversation : c)) }));
  }, []);

  const remove = useCallback((id: string) => {
    setState((s) => ({ ...s, items: s.items.filter((c) => c.id !== id) }));
  }, []);

  /** Re-reads one conversation after a turn (title, count) and moves it to the top. */
  const refresh = useCallback(
    async (id: string) => {
      const ticket = (refreshTickets.current.get(id) ?? 0) + 1;
      refreshTickets.current.set(id, ticket);
      try {
        const conversation = await api.getConversation(id);
        if (refreshTickets.current.get(id) === ticket) moveToTop(conversation);
      } catch (caught) {
        if (caught instanceof ApiError && caught.status === 404) remove(id);
        // Other failures leave the list as it is; the next turn refreshes it again.
      }
    },
    [api, moveToTop, remove],
  );

  const dismissError = useCallback(() => setState((s) => ({ ...s, error: null })), []);

  /** Pins, unpins, archives or restores a conversation and puts it where the list now shows it (or out of this view). */
  const update = useCallback(
    async (id: string, change: { pinned?: boolean; archived?: boolean }) => {
      const conversation = await api.updateConversation(id, change);
      if ((conversation.archived ?? false) !== archived) remove(id);
      else if (change.pinned !== undefined) reload();
      else replace(conversation);
      return conversation;
    },
    [api, archived, reload, remove, replace],
  );

  return { ...state, archived, showArchived, update, reload, loadMore, moveToTop, replace, remove, refresh, dismissError };
}
