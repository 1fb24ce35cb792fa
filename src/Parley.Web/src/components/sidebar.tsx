import { useEffect, useRef, useState, type KeyboardEvent, type MouseEvent, type ReactNode, type UIEvent } from 'react';
import { conversationPath } from '../lib/router';
import type { SearchResult } from '../lib/search';
import type { Conversation } from '../lib/types';
import { ConfirmDialog } from './confirm-dialog';
import { SearchPanel } from './search-panel';
import { ThemePicker } from './theme-picker';
import { ArchiveIcon, CloseIcon, LogoIcon, LogoutIcon, PencilIcon, PinIcon, PlusIcon, TrashIcon } from './icons';

interface SidebarProps {
  conversations: Conversation[];
  status: 'loading' | 'ready' | 'error';
  hasMore: boolean;
  loadingMore: boolean;
  selectedId: string | null;
  userName: string | null;
  open: boolean;
  onClose: () => void;
  onLoadMore: () => void;
  onRetry: () => void;
  onNew: () => void;
  onSelect: (id: string) => void;
  onRename: (id: string, title: string) => Promise<void>;
  /** Resolves true when the conversation was deleted. */
  onDelete: (id: string) => Promise<boolean>;
  /** Pins or unpins (pinned ones are listed first). */
  onPin: (id: string, pinned: boolean) => void;
  /** Archives or restores (archived ones are listed only in the Archived view). */
  onArchive: (id: string, archived: boolean) => void;
  /** The list shows the archived conversations. */
  archivedView: boolean;
  onShowArchived: (show: boolean) => void;
  onLogout: () => void;
  /** Shows the Admin link. */
  isAdmin?: boolean;
  /** Opens an app page (`/account`, `/admin`). */
  onOpenPage?: (path: '/account' | '/admin') => void;
  /** Opens a search result; without it the sidebar has no search box. */
  onOpenResult?: (result: SearchResult) => void;
  /** More actions beside Account (Import). */
  tools?: ReactNode;
}

export function displayTitle(conversation: Pick<Conversation, 'title'>): string {
  return conversation.title?.trim() || 'New chat';
}

/** Groups the way chat products do: Pinned, then by last activity: Today, Yesterday, Previous 7 days, Older. */
function groupByActivity(conversations: Conversation[], now = new Date()): { label: string; items: Conversation[] }[] {
  const pinned = conversations.filter((c) => c.pinned);
  const rest = groupByDate(conversations.filter((c) => !c.pinned), now);
  return pinned.length > 0 ? [{ label: 'Pinned', items: pinned }, ...rest] : rest;
}

function groupByDate(conversations: Conversation[], now: Date): { label: string; items: Conversation[] }[] {
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const day = 86_400_000;
  const groups = [
    { label: 'Today', from: startOfToday, items: [] as Conversation[] },
    { label: 'Yesterday', from: startOfToday - day, items: [] as Conversation[] },
    { label: 'Previous 7 days', from: startOfToday - 7 * day, items: [] as Conversation[] },
    { label: 'Older', from: -Infinity, items: [] as Conversation[] },
  ];
  for (const conversation of conversations) {
    const time = Date.parse(conversation.updatedAt);
    const group = groups.find((g) => (Number.isNaN(time) ? g.from === -Infinity : time >= g.from));
    group?.items.push(conversation);
  }
  return groups.filter((g) => g.items.length > 0);
}

function ConversationItem({
  conversation,
  selected,
  onSelect,
  onRename,
  onAskDelete,
  onPin,
  onArchive,
}: {
  conversation: Conversation;
  selected: boolean;
  onSelect: (id: string) => void;
  onRename: (id: string, title: string) => Promise<void>;
  onAskDelete: (conversation: Conversation) => void;
  onPin: (id: string, pinned: boolean) => void;
  onArchive: (id: string, archived: boolean) => void;
}) {
  const pinned = conversation.pinned ?? false;
  const archived = conversation.archived ?? false;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const committedRef = useRef(false);
  const renameButtonRef = useRef<HTMLButtonElement>(null);
  const title = displayTitle(conversation);

  function startEditing() {
    committedRef.current = false;
    setDraft(conversation.title ?? '');
    setEditing(true);
  }

  function finish(save: boolean) {
    if (committedRef.current) return;
    committedRef.current = true;
    setEditing(false);
    requestAnimationFrame(() => renameButtonRef.current?.focus());
    const next = draft.trim();
    if (save && next && next !== conversation.title) void onRename(conversation.id, next);
  }

  function handleKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'Enter') {
      event.preventDefault();
      finish(true);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      finish(false);
    }
  }

  function handleClick(event: MouseEvent<HTMLAnchorElement>) {
    // Let the browser open new tabs/windows; handle plain clicks in the app.
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    onSelect(conversation.id);
  }

  return (
    <li
      data-testid="conversation-item"
      data-conversation-id={conversation.id}
      data-selected={selected}
      className={`group relative flex items-center rounded-lg text-sm ${
        selected ? 'bg-zinc-200/70 text-zinc-950' : 'text-zinc-700 hover:bg-zinc-200/40'
      }`}
    >
      {editing ? (
        <input
          aria-label="Conversation title"
          data-testid="conversation-title-input"
          value={draft}
          maxLength={200}
          autoFocus
          onFocus={(e) => e.currentTarget.select()}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={handleKeyDown}
          onBlur={() => finish(true)}
          className="m-0.5 h-8 min-w-0 flex-1 rounded-md border border-zinc-400 bg-white px-2 text-sm text-zinc-900 outline-none focus-visible:ring-3 focus-visible:ring-zinc-900/15"
        />
      ) : (
        <>
          <a
            href={conversationPath(conversation.id)}
            onClick={handleClick}
            aria-current={selected ? 'page' : undefined}
            title={title}
            className={`min-w-0 flex-1 truncate rounded-lg py-2 pl-2.5 max-md:py-3 max-md:mr-45 max-md:pr-2.5! outline-none group-focus-within:pr-30 group-hover:pr-30 focus-visible:ring-2 focus-visible:ring-zinc-900 focus-visible:ring-inset pointer-coarse:pr-30 ${
              selected ? 'pr-30' : 'pr-2.5'
            }`}
            data-testid="conversation-link"
          >
            {title}
          </a>
          <div
            className={`absolute inset-y-0 right-1 flex items-center transition-opacity group-focus-within:opacity-100 group-hover:opacity-100 pointer-coarse:opacity-100 ${
              selected ? 'opacity-100' : 'opacity-0'
            }`}
          >
            <button
              ref={renameButtonRef}
              type="button"
              onClick={startEditing}
              aria-label={`Rename “${title}”`}
              data-testid="rename-conversation"
              className="icon-button size-7"
            >
              <PencilIcon width={15} height={15} />
            </button>
            <button
              type="button"
              onClick={() => onAskDelete(conversation)}
              aria-label={`Delete “${title}”`}
              data-testid="delete-conversation"
              className="icon-button size-7 hover:text-red-700"
            >
              <TrashIcon width={15} height={15} />
            </button>
            {!archived && (
              <button
                type="button"
                onClick={() => onPin(conversation.id, !pinned)}
                aria-label={`${pinned ? 'Unpin' : 'Pin'} “${title}”`}
                aria-pressed={pinned}
                data-testid="pin-conversation"
                className={`icon-button size-7 ${pinned ? 'text-zinc-900' : ''}`}
              >
                <PinIcon width={15} height={15} />
              </button>
            )}
            <button
              type="button"
              onClick={() => onArchive(conversation.id, !archived)}
              aria-label={`${archived ? 'Restore' : 'Archive'} “${title}”`}
              data-testid={archived ? 'unarchive-conversation' : 'archive-conversation'}
              className="icon-button size-7"
            >
              <ArchiveIcon width={15} height={15} />
            </button>
          </div>
        </>
      )}
    </li>
  );
}

export function Sidebar({
  conversations,
  status,
  hasMore,
  loadingMore,
  selectedId,
  userName,
  open,
  onClose,
  onLoadMore,
  onRetry,
  onNew,
  onSelect,
  onRename,
  onDelete,
  onPin,
  onArchive,
  archivedView,
  onShowArchived,
  onLogout,
  isAdmin = false,
  onOpenPage,
  onOpenResult,
  tools,
}: SidebarProps) {
  /** The search box holds a query: its results replace the list. */
  const [searching, setSearching] = useState(false);
  const [confirming, setConfirming] = useState<Conversation | null>(null);
  const [deleting, setDeleting] = useState(false);
  /** After a delete, focus goes to this conversation's link (the next one, else the previous), or to New chat. */
  const [focusAfterDelete, setFocusAfterDelete] = useState<{ id: string | null } | null>(null);
  const newButtonRef = useRef<HTMLButtonElement>(null);
  const asideRef = useRef<HTMLElement>(null);

  // On small screens the sidebar is a modal drawer: opening it moves focus into it, Tab stays inside (the page
  // behind it is inert), and Escape closes it.
  useEffect(() => {
    if (!open) return;
    // The drawer can become focusable a few frames after it opens (its visibility transition): keep trying for a
    // moment, until focus is inside it.
    let frame = 0;
    let tries = 0;
    const focusIn = () => {
      if (asideRef.current?.contains(document.activeElement)) return;
      newButtonRef.current?.focus();
      if (++tries < 30) frame = requestAnimationFrame(focusIn);
    };
    focusIn();
    const onKeyDown = (event: globalThis.KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) onClose();
      if (event.key !== 'Tab' || !asideRef.current) return;
      const focusable = [...asideRef.current.querySelectorAll<HTMLElement>('a[href], button:not(:disabled), input')].filter(
        (el) => el.offsetParent !== null,
      );
      const first = focusable[0];
      const last = focusable.at(-1);
      if (!first || !last) return;
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => {
      cancelAnimationFrame(frame);
      window.removeEventListener('keydown', onKeyDown);
    };
  }, [open, onClose]);

  useEffect(() => {
    if (!focusAfterDelete) return;
    const link = focusAfterDelete.id
      ? asideRef.current?.querySelector<HTMLElement>(`[data-conversation-id="${CSS.escape(focusAfterDelete.id)}"] a`)
      : null;
    (link ?? newButtonRef.current)?.focus();
    setFocusAfterDelete(null);
  }, [focusAfterDelete, conversations]);

  async function confirmDelete() {
    if (!confirming) return;
    const ordered = groupByActivity(conversations).flatMap((group) => group.items);
    const index = ordered.findIndex((c) => c.id === confirming.id);
    const neighbour = ordered[index + 1] ?? ordered[index - 1] ?? null;
    setDeleting(true);
    let deleted: boolean;
    try {
      deleted = await onDelete(confirming.id);
    } finally {
      setDeleting(false);
      setConfirming(null);
    }
    if (deleted) setFocusAfterDelete({ id: neighbour?.id ?? null });
  }

  function handleListScroll(event: UIEvent<HTMLElement>) {
    const el = event.currentTarget;
    if (hasMore && !loadingMore && el.scrollHeight - el.scrollTop - el.clientHeight < 200) onLoadMore();
  }

  return (
    <>
      {open && (
        <div className="fixed inset-0 z-30 bg-black/40 md:hidden" onClick={onClose} aria-hidden="true" />
      )}
      <aside
        ref={asideRef}
        id="sidebar"
        aria-label="Conversations"
        {...(open ? { role: 'dialog', 'aria-modal': true } : {})}
        className={`fixed inset-y-0 left-0 z-40 flex w-72 max-w-[85vw] flex-col border-r border-zinc-200 bg-zinc-50 duration-200 md:static md:z-auto md:w-64 md:max-w-none md:translate-x-0 lg:w-72 ${
          // Opening shows the drawer at once (so it can take focus); closing keeps it visible while it slides out.
          open ? 'visible translate-x-0 transition-[translate]' : 'transition-[translate,visibility] max-md:invisible max-md:-translate-x-full'
        }`}
      >
        <div className="flex h-14 shrink-0 items-center gap-2 px-3">
          <LogoIcon width={24} height={24} className="text-zinc-900" />
          <span className="flex-1 text-[15px] font-semibold tracking-tight text-zinc-900">Parley</span>
          <button type="button" onClick={onClose} aria-label="Close sidebar" className="icon-button size-9 md:hidden">
            <CloseIcon />
          </button>
        </div>
        <div className="px-3 pb-2">
          <button
            ref={newButtonRef}
            type="button"
            onClick={onNew}
            data-testid="new-conversation"
            className="btn-secondary flex h-10 w-full items-center justify-start gap-2 px-3 max-md:h-11"
          >
            <PlusIcon width={16} height={16} />
            New chat
          </button>
        </div>
        {onOpenResult && <SearchPanel onOpen={onOpenResult} onActiveChange={setSearching} />}
        <nav aria-label="Conversation history" className="min-h-0 flex-1 overflow-y-auto px-2 pb-3" onScroll={handleListScroll} hidden={searching}>
          {status === 'loading' && <p className="px-2.5 py-2 text-sm text-zinc-500">Loading…</p>}
          {status === 'error' && (
            <div className="px-2.5 py-2 text-sm text-zinc-600">
              Could not load conversations.{' '}
              <button type="button" onClick={onRetry} className="link">
                Try again
              </button>
            </div>
          )}
          {archivedView && (
            <div className="flex items-center justify-between px-2.5 pt-1 pb-1">
              <h2 className="text-sm font-semibold text-zinc-900" data-testid="archived-heading">
                Archived
              </h2>
              <button type="button" className="link text-xs" onClick={() => onShowArchived(false)} data-testid="leave-archived">
                Back to chats
              </button>
            </div>
          )}
          {status === 'ready' && conversations.length === 0 && (
            <p className="px-2.5 py-2 text-sm text-zinc-500" data-testid="conversations-empty">
              {archivedView ? 'No archived conversations.' : 'No conversations yet.'}
            </p>
          )}
          {groupByActivity(conversations).map((group) => (
            <section key={group.label} className="mt-3 first:mt-1">
              <h2 className="px-2.5 pb-1 text-xs font-medium text-zinc-500">{group.label}</h2>
              <ul className="flex flex-col gap-0.5">
                {group.items.map((conversation) => (
                  <ConversationItem
                    key={conversation.id}
                    conversation={conversation}
                    selected={conversation.id === selectedId}
                    onSelect={onSelect}
                    onRename={onRename}
                    onAskDelete={setConfirming}
                    onPin={onPin}
                    onArchive={onArchive}
                  />
                ))}
              </ul>
            </section>
          ))}
          {hasMore && (
            <button type="button" onClick={onLoadMore} disabled={loadingMore} className="btn-ghost mt-2 w-full text-xs">
              {loadingMore ? 'Loading…' : 'Show more'}
            </button>
          )}
          {!archivedView && (
            <button
              type="button"
              onClick={() => onShowArchived(true)}
              data-testid="show-archived"
              className="btn-ghost mt-3 flex w-full items-center gap-2 px-2.5 text-xs text-zinc-600"
            >
              <ArchiveIcon width={14} height={14} />
              Archived
            </button>
          )}
        </nav>
        <div className="shrink-0 border-t border-zinc-200 px-3 pt-2.5">
          <ThemePicker />
        </div>
        {onOpenPage && (
          <div className="flex shrink-0 gap-1 px-3 pt-2">
            <button type="button" className="btn-ghost text-sm" onClick={() => onOpenPage('/account')} data-testid="account-link">
              Account
            </button>
            {isAdmin && (
              <button type="button" className="btn-ghost text-sm" onClick={() => onOpenPage('/admin')} data-testid="admin-link">
                Admin
              </button>
            )}
            {tools}
          </div>
        )}
        <div className="flex shrink-0 items-center gap-2 px-3 py-2.5">
          <span
            aria-hidden="true"
            className="flex size-8 shrink-0 items-center justify-center rounded-full bg-zinc-900 text-xs font-semibold text-white uppercase"
          >
            {userName?.[0] ?? '?'}
          </span>
          <span className="min-w-0 flex-1 truncate text-sm font-medium text-zinc-800" data-testid="current-user">
            {userName ?? ''}
          </span>
          <button type="button" onClick={onLogout} data-testid="logout" className="btn-ghost flex items-center gap-1.5 text-sm">
            <LogoutIcon width={16} height={16} />
            Log out
          </button>
        </div>
      </aside>
      {confirming && (
        <ConfirmDialog
          title="Delete conversation?"
          description={`“${displayTitle(confirming)}” and all its messages will be deleted. This cannot be undone.`}
          confirmLabel={deleting ? 'Deleting…' : 'Delete'}
          busy={deleting}
          onConfirm={() => void confirmDelete()}
          onCancel={() => setConfirming(null)}
        />
      )}
    </>
  );
}
