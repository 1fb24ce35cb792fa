import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useApi } from '../lib/api-context';
import { describeError } from '../lib/errors';
import { createShare } from '../lib/shares';
import { showToast } from '../lib/toast';
import { exportConversation } from '../lib/transfer';
import { ShareDialog, type ShareState } from './share-dialog';

function MoreIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true" focusable="false">
      <circle cx="5" cy="12" r="1.75" />
      <circle cx="12" cy="12" r="1.75" />
      <circle cx="19" cy="12" r="1.75" />
    </svg>
  );
}

/**
 * The open conversation's menu in the header: Share (a read-only link to the current branch as it is now) and Export
 * as Markdown or JSON (a download). A menu button: arrow keys move between the items, Escape closes and refocuses it.
 */
export function ConversationMenu({ conversationId, onError }: { conversationId: string; onError: (message: string) => void }) {
  const api = useApi();
  const [open, setOpen] = useState(false);
  const [share, setShare] = useState<ShareState | null>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    menuRef.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const onPointerDown = (event: PointerEvent) => {
      const target = event.target as Node;
      if (!menuRef.current?.contains(target) && !buttonRef.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointerDown);
    return () => document.removeEventListener('pointerdown', onPointerDown);
  }, [open]);

  const makeShare = useCallback(() => {
    setShare({ status: 'creating' });
    createShare(api, conversationId).then(
      (created) => setShare((s) => (s ? { status: 'ready', share: created } : s)),
      (caught: unknown) => setShare((s) => (s ? { status: 'error', message: describeError(caught) } : s)),
    );
  }, [api, conversationId]);

  function choose(action: () => void) {
    setOpen(false);
    action();
  }

  function download(format: 'json' | 'markdown') {
    exportConversation(api, conversationId, format).then(
      (name) => showToast(`Downloaded ${name}`),
      (caught: unknown) => onError(`Could not export the conversation. ${describeError(caught)}`),
    );
  }

  function handleMenuKeyDown(event: KeyboardEvent) {
    const items = [...(menuRef.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const index = items.indexOf(document.activeElement as HTMLElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      setOpen(false);
      buttonRef.current?.focus();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = (index + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      items[next]?.focus();
    } else if (event.key === 'Tab') {
      setOpen(false);
    }
  }

  const itemClass = 'block w-full rounded-md px-3 py-2 max-md:py-3 text-left text-sm text-zinc-800 outline-none hover:bg-zinc-100 focus-visible:bg-zinc-100';
  return (
    <div className="relative">
      <button
        ref={buttonRef}
        type="button"
        onClick={() => setOpen((o) => !o)}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label="Conversation options"
        data-testid="conversation-menu"
        className="icon-button size-9"
      >
        <MoreIcon />
      </button>
      {open && (
        <div
          ref={menuRef}
          role="menu"
          aria-label="Conversation options"
          onKeyDown={handleMenuKeyDown}
          className="absolute top-full right-0 z-30 mt-1 w-52 rounded-xl border border-zinc-200 bg-white p-1 shadow-lg"
        >
          <button type="button" role="menuitem" className={itemClass} data-testid="share-conversation" onClick={() => choose(makeShare)}>
            Share link…
          </button>
          <button type="button" role="menuitem" className={itemClass} data-testid="export-markdown" onClick={() => choose(() => download('markdown'))}>
            Export as Markdown
          </button>
          <button type="button" role="menuitem" className={itemClass} data-testid="export-json" onClick={() => choose(() => download('json'))}>
            Export as JSON
          </button>
        </div>
      )}
      {share && (
        <ShareDialog
          state={share}
          onClose={() => {
            setShare(null);
            buttonRef.current?.focus();
          }}
          onRetry={makeShare}
        />
      )}
    </div>
  );
}
