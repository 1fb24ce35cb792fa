import { useCallback, useEffect, useRef, useState } from 'react';
import { useConversations } from '../hooks/use-conversations';
import { useApi } from '../lib/api-context';
import { describeError } from '../lib/errors';
import { conversationIdFromPath, conversationPath, navigate, usePathname } from '../lib/router';
import type { Conversation } from '../lib/types';
import { AccountPage } from './account-page';
import { AdminPage } from './admin-page';
import { Chat } from './chat';
import { ConversationMenu } from './conversation-menu';
import { ImportButton } from './import-button';
import type { RevealTarget } from '../hooks/use-reveal-message';
import type { SearchResult } from '../lib/search';
import type { ImportResult } from '../lib/transfer';
import { loadMarkdown } from './message';
import { ErrorBanner } from './error-banner';
import { MenuIcon } from './icons';
import { Sidebar, displayTitle } from './sidebar';
import { TokenBalance } from './token-balance';
import { Toaster } from './toaster';
import { showToast } from '../lib/toast';

/** The signed-in app: sidebar, header with the token balance, and the selected conversation. */
export function Workspace() {
  const api = useApi();
  const pathname = usePathname();
  const conversationId = conversationIdFromPath(pathname);
  const conversations = useConversations();
  const { refresh: refreshConversation, moveToTop, replace, remove } = conversations;

  const [userName, setUserName] = useState<string | null>(null);
  const [isAdmin, setIsAdmin] = useState(false);
  const page = pathname === '/account' ? 'account' : pathname === '/admin' ? 'admin' : null;
  const [balance, setBalance] = useState<number | null>(null);
  const [costPerMessage, setCostPerMessage] = useState<number | null>(null);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fallbackConversation, setFallbackConversation] = useState<Conversation | null>(null);
  /** The message a search result opened the conversation at. */
  const [reveal, setReveal] = useState<(RevealTarget & { conversationId: string }) | null>(null);

  // A new chat is created on its first send. The Chat that created it keeps its React key under the
  // new URL (an alias), so the reply keeps streaming into the same component instead of a fresh one.
  const [draftKey, setDraftKey] = useState(0);
  const aliases = useRef(new Map<string, string>());
  const chatKey = conversationId ? (aliases.current.get(conversationId) ?? `c:${conversationId}`) : `new:${draftKey}`;

  const refreshBalance = useCallback(() => {
    api.balance().then(
      (b) => {
        setBalance(b.tokenBalance);
        setCostPerMessage(b.costPerMessage);
      },
      (caught: unknown) => console.warn('Could not refresh the token balance', caught),
    );
  }, [api]);

  // Fetch the markdown chunk while the first requests are in flight.
  useEffect(() => {
    void loadMarkdown();
  }, []);

  useEffect(() => {
    let active = true;
    api.me().then(
      (user) => {
        if (!active) return;
        setUserName(user.userName);
        setIsAdmin(user.role === 'admin');
        setBalance((current) => current ?? user.tokenBalance);
      },
      (caught: unknown) => active && setError(describeError(caught)),
    );
    refreshBalance();
    return () => {
      active = false;
    };
  }, [api, refreshBalance]);

  const selected =
    conversations.items.find((c) => c.id === conversationId) ??
    (fallbackConversation?.id === conversationId ? fallbackConversation : null);

  // A deep link to a conversation not on the sidebar's first page still gets its title.
  useEffect(() => {
    if (!conversationId || conversations.status !== 'ready') return;
    if (conversations.items.some((c) => c.id === conversationId)) return;
    let active = true;
    api.getConversation(conversationId).then(
      (c) => active && setFallbackConversation(c),
      () => active && setFallbackConversation(null), // The chat pane reports a missing conversation.
    );
    return () => {
      active = false;
    };
  }, [api, conversationId, conversations.status, conversations.items]);

  useEffect(() => {
    document.title =
      page === 'account' ? 'Account · Parley' : page === 'admin' ? 'Admin · Parley' : selected ? `${displayTitle(selected)} · Parley` : 'Parley';
  }, [selected, page]);

  const openPage = useCallback((path: '/account' | '/admin') => {
    navigate(path);
    setSidebarOpen(false);
  }, []);

  const onConversationCreated = useCallback(
    (conversation: Conversation) => {
      aliases.current.set(conversation.id, `new:${draftKey}`);
      moveToTop(conversation);
      navigate(conversationPath(conversation.id));
      // The next "/" (new chat, or Back) must be a fresh chat, not this one.
      setDraftKey((k) => k + 1);
    },
    [draftKey, moveToTop],
  );

  const startNewChat = useCallback(() => {
    setDraftKey((k) => k + 1);
    navigate('/');
    setSidebarOpen(false);
  }, []);

  const toggleRef = useRef<HTMLButtonElement>(null);
  const restoreFocusRef = useRef(false);
  const closeSidebar = useCallback(() => {
    restoreFocusRef.current = true;
    setSidebarOpen(false);
  }, []);
  // Focus goes back to the toggle that opened the drawer once the page behind it is no longer inert.
  useEffect(() => {
    if (sidebarOpen || !restoreFocusRef.current) return;
    restoreFocusRef.current = false;
    if (toggleRef.current?.offsetParent) toggleRef.current.focus();
  }, [sidebarOpen]);
  // The drawer exists on narrow screens only: widening the window closes it (and so un-inerts the page).
  useEffect(() => {
    if (typeof window.matchMedia !== 'function') return;
    const wide = window.matchMedia('(min-width: 768px)');
    const onChange = () => wide.matches && setSidebarOpen(false);
    wide.addEventListener('change', onChange);
    return () => wide.removeEventListener('change', onChange);
  }, []);

  // Keyboard shortcuts: Ctrl/Cmd+K goes to the conversation list, Ctrl/Cmd+Shift+O starts a new chat.
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const key = event.key.toLowerCase();
      if (key === 'k' && !event.shiftKey) {
        event.preventDefault();
        if (toggleRef.current?.offsetParent) {
          setSidebarOpen(true); // the drawer focuses its first control
          return;
        }
        const sidebar = document.getElementById('sidebar');
        const target =
          sidebar?.querySelector<HTMLElement>('[aria-current="page"]') ??
          sidebar?.querySelector<HTMLElement>('[data-testid="conversation-link"]') ??
          sidebar?.querySelector<HTMLElement>('[data-testid="new-conversation"]');
        target?.focus();
      } else if (key === 'o' && event.shiftKey) {
        event.preventDefault();
        startNewChat();
        requestAnimationFrame(() => document.getElementById('message-input')?.focus());
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [startNewChat]);

  const select = useCallback((id: string) => {
    navigate(conversationPath(id));
    setSidebarOpen(false);
  }, []);

  const openResult = useCallback((result: SearchResult) => {
    setReveal(result.messageId ? { conversationId: result.conversationId, messageId: result.messageId, nonce: Date.now() } : null);
    navigate(conversationPath(result.conversationId));
    setSidebarOpen(false);
  }, []);

  const { reload: reloadConversations } = conversations;
  const imported = useCallback(
    (result: ImportResult) => {
      showToast(`Imported ${result.imported} conversation${result.imported === 1 ? '' : 's'}`);
      reloadConversations();
      const first = result.conversationIds[0];
      if (first) select(first);
    },
    [reloadConversations, select],
  );

  const rename = useCallback(
    async (id: string, title: string) => {
      try {
        replace(await api.renameConversation(id, title));
      } catch (caught) {
        setError(`Could not rename the conversation. ${describeError(caught)}`);
      }
    },
    [api, replace],
  );

  const { update } = conversations;
  const organize = useCallback(
    async (id: string, change: { pinned?: boolean; archived?: boolean }) => {
      try {
        await update(id, change);
      } catch (caught) {
        setError(`Could not change the conversation. ${describeError(caught)}`);
      }
    },
    [update],
  );

  const deleteConversation = useCallback(
    async (id: string) => {
      try {
        await api.deleteConversation(id);
        remove(id);
        if (id === conversationId) navigate('/', { replace: true });
        showToast('Conversation deleted');
        return true;
      } catch (caught) {
        setError(`Could not delete the conversation. ${describeError(caught)}`);
        return false;
      }
    },
    [api, conversationId, remove],
  );

  const logout = useCallback(() => {
    navigate('/', { replace: true });
    void api.logout();
  }, [api]);

  return (
    <div className="flex h-dvh overflow-hidden bg-white">
      <a
        href="#message-input"
        className="skip-link"
        onClick={(event) => {
          event.preventDefault();
          document.getElementById('message-input')?.focus();
        }}
      >
        Skip to message box
      </a>
      <Sidebar
        conversations={conversations.items}
        status={conversations.status}
        hasMore={conversations.nextCursor !== null}
        loadingMore={conversations.loadingMore}
        selectedId={conversationId}
        userName={userName}
        open={sidebarOpen}
        onClose={closeSidebar}
        onLoadMore={conversations.loadMore}
        onRetry={conversations.reload}
        onNew={startNewChat}
        onSelect={select}
        onRename={rename}
        onDelete={deleteConversation}
        onPin={(id, pinned) => void organize(id, { pinned })}
        onArchive={(id, archived) => void organize(id, { archived })}
        archivedView={conversations.archived}
        onShowArchived={conversations.showArchived}
        onLogout={logout}
        isAdmin={isAdmin}
        onOpenPage={openPage}
        onOpenResult={openResult}
        tools={<ImportButton onImported={imported} onError={setError} />}
      />
      <main className="flex min-w-0 flex-1 flex-col" inert={sidebarOpen}>
        <header className="flex h-14 shrink-0 items-center gap-2 border-b border-zinc-100 px-3 sm:px-4">
          <button
            ref={toggleRef}
            type="button"
            onClick={() => setSidebarOpen(true)}
            aria-label="Open sidebar"
            aria-expanded={sidebarOpen}
            aria-controls="sidebar"
            data-testid="sidebar-toggle"
            className="icon-button size-9 md:hidden"
          >
            <MenuIcon />
          </button>
          <h1 className="min-w-0 flex-1 truncate text-[15px] font-medium text-zinc-800" data-testid="conversation-title">
            {page === 'account' ? 'Account' : page === 'admin' ? 'Admin' : conversationId ? (selected ? displayTitle(selected) : '') : 'New chat'}
          </h1>
          {page === null && conversationId && <ConversationMenu conversationId={conversationId} onError={setError} />}
          <TokenBalance balance={balance} costPerMessage={costPerMessage} />
        </header>
        {(error || conversations.error) && (
          <div className="px-3 pt-3 sm:px-6">
            <ErrorBanner
              className="mx-auto w-full max-w-3xl"
              message={error ?? conversations.error ?? ''}
              onDismiss={() => {
                setError(null);
                conversations.dismissError();
              }}
            />
          </div>
        )}
        {page === 'account' && <AccountPage onBalance={refreshBalance} />}
        {page === 'admin' && (isAdmin ? <AdminPage /> : <p className="p-6 text-sm text-zinc-600">This page is for administrators.</p>)}
        {page === null && <Chat
          key={chatKey}
          conversationId={conversationId}
          onConversationCreated={onConversationCreated}
          onActivity={refreshConversation}
          onBalance={setBalance}
          onRefreshBalance={refreshBalance}
          outOfTokens={balance !== null && costPerMessage !== null && balance < costPerMessage}
          balance={balance}
          costPerMessage={costPerMessage}
          reveal={reveal?.conversationId === conversationId ? reveal : null}
        />}
      </main>
      <Toaster />
    </div>
  );
}
