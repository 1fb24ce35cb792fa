import { useEffect, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { useScrollToBottom } from '../hooks/use-scroll-to-bottom';
import type { Message as MessageModel } from '../lib/types';
import { ArrowDownIcon, LogoIcon } from './icons';
import { Message } from './message';

interface MessagesProps {
  messages: MessageModel[];
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  /** Changes whenever the user sends: the view jumps to the bottom and follows the reply again. */
  sendCount: number;
  /** The empty state offers example prompts; picking one calls this. */
  onExample?: (prompt: string) => void;
  /** Edits a user message: sends `content` as its new version. */
  onEdit?: (message: MessageModel, content: string) => void;
  /** Writes a new version of the last reply. */
  onRegenerate?: (message: MessageModel) => void;
  /** Shows another version of a message. */
  onSwitch?: (messageId: string) => void;
  /** A turn is running: editing, regenerating and switching wait. */
  busy?: boolean;
  /** A message to scroll to and highlight (a search result) once it is in `messages`; then `onRevealed` is called. */
  revealId?: string | null;
  onRevealed?: () => void;
}

const EXAMPLES = [
  { title: 'Explain a concept', prompt: 'Explain how HTTPS keeps a connection private, in three short paragraphs.' },
  { title: 'Write some code', prompt: 'Write a TypeScript function that groups an array of objects by a key.' },
  { title: 'Plan something', prompt: 'Make a packing checklist for a three-day hiking trip as a task list.' },
  { title: 'Compare options', prompt: 'Compare SQLite and PostgreSQL for a small web app in a table.' },
];

/** Load older messages when the user scrolls this close (px) to the top. */
const LOAD_OLDER_AT = 120;

export function Messages({
  messages,
  hasOlder,
  loadingOlder,
  onLoadOlder,
  sendCount,
  onExample,
  onEdit,
  onRegenerate,
  onSwitch,
  busy,
  revealId = null,
  onRevealed,
}: MessagesProps) {
  const { containerRef, isAtBottom, scrollToBottom, release, onScroll, onWheel } = useScrollToBottom<HTMLDivElement>();
  // Distance from the bottom before older messages were prepended, to keep the view still.
  const anchorRef = useRef<number | null>(null);
  const firstId = messages[0]?.id;

  function loadOlder() {
    const el = containerRef.current;
    if (!hasOlder || loadingOlder) return;
    if (el) anchorRef.current = el.scrollHeight - el.scrollTop;
    onLoadOlder();
  }

  function handleScroll() {
    onScroll();
    const el = containerRef.current;
    if (el && el.scrollTop < LOAD_OLDER_AT) loadOlder();
  }

  useLayoutEffect(() => {
    const el = containerRef.current;
    if (el && anchorRef.current !== null) {
      el.scrollTop = el.scrollHeight - anchorRef.current;
      anchorRef.current = null;
    }
  }, [firstId, containerRef]);

  // A first page too short to scroll cannot be scrolled up: fetch older pages until it can.
  useEffect(() => {
    const el = containerRef.current;
    if (el && el.clientHeight > 0 && el.scrollHeight <= el.clientHeight && hasOlder && !loadingOlder) onLoadOlder();
  }, [messages.length, hasOlder, loadingOlder, onLoadOlder, containerRef]);

  useEffect(() => {
    if (sendCount > 0) scrollToBottom();
  }, [sendCount, scrollToBottom]);

  // After the anchoring above, so a page of older messages that brought the target in does not move it off screen.
  const highlightId = useRevealScroll(containerRef, revealId, release, onRevealed);

  return (
    <div className="relative min-h-0 flex-1">
      <div
        ref={containerRef}
        onScroll={handleScroll}
        onWheel={onWheel}
        className="h-full overflow-y-auto overscroll-contain"
        data-testid="messages"
      >
        <div className="mx-auto flex w-full max-w-3xl flex-col gap-6 px-4 pt-6 pb-8 sm:px-6">
          {hasOlder && (
            <div className="flex justify-center">
              <button type="button" onClick={loadOlder} disabled={loadingOlder} className="btn-ghost text-xs">
                {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
              </button>
            </div>
          )}
          {messages.length === 0 ? (
            <div className="flex flex-col items-center gap-3 pt-[12vh] text-center">
              <LogoIcon width={40} height={40} className="text-zinc-900" />
              <h2 className="text-2xl font-semibold tracking-tight text-zinc-900">How can I help you today?</h2>
              <p className="max-w-sm text-sm text-zinc-500">
                Ask anything. Replies stream in as they are written; you can stop them at any time.
              </p>
              {onExample && (
                <ul className="mt-4 grid w-full max-w-xl grid-cols-1 gap-2 text-left sm:grid-cols-2" aria-label="Example prompts">
                  {EXAMPLES.map((example) => (
                    <li key={example.title}>
                      <button
                        type="button"
                        onClick={() => onExample(example.prompt)}
                        data-testid="example-prompt"
                        className="h-full w-full rounded-xl border border-zinc-200 bg-white px-3.5 py-2.5 text-left text-sm transition hover:bg-zinc-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-zinc-900"
                      >
                        <span className="block font-medium text-zinc-900">{example.title}</span>
                        <span className="mt-0.5 line-clamp-2 block text-zinc-500">{example.prompt}</span>
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          ) : (
            <div role="log" aria-label="Messages" aria-live="off" className="flex flex-col gap-6">
              {messages.map((message, index) => (
                <div
                  key={message.id}
                  data-message-id={message.id}
                  data-highlighted={message.id === highlightId || undefined}
                  className={message.id === highlightId ? 'search-hit' : undefined}
                >
                  <Message
                    message={message}
                    busy={busy}
                    onSwitch={onSwitch}
                    onEdit={onEdit}
                    onRegenerate={onRegenerate}
                    last={index === messages.length - 1}
                  />
                </div>
              ))}
            </div>
          )}
        </div>
      </div>
      {!isAtBottom && messages.length > 0 && (
        <button
          type="button"
          onClick={scrollToBottom}
          aria-label="Scroll to latest message"
          className="absolute bottom-3 left-1/2 -translate-x-1/2 rounded-full border border-zinc-200 bg-white p-2 text-zinc-700 shadow-md hover:bg-zinc-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-zinc-900"
        >
          <ArrowDownIcon />
        </button>
      )}
    </div>
  );
}

/**
 * Scrolls the message `revealId` to the middle of the container (its top, when it is taller) once it is rendered, stops
 * following the bottom, and returns it as the message to highlight. The container alone scrolls (scrollIntoView would
 * also move the page's overflow-hidden ancestors).
 */
function useRevealScroll(
  containerRef: RefObject<HTMLDivElement | null>,
  revealId: string | null,
  release: () => void,
  onRevealed: (() => void) | undefined,
): string | null {
  const [highlightId, setHighlightId] = useState<string | null>(null);
  useLayoutEffect(() => {
    const container = containerRef.current;
    if (!revealId || !container) return;
    const target = container.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(revealId)}"]`);
    if (!target) return;
    release();
    const top = target.getBoundingClientRect().top - container.getBoundingClientRect().top + container.scrollTop;
    const margin = Math.max(16, (container.clientHeight - target.offsetHeight) / 2);
    container.scrollTop = Math.max(0, top - margin);
    setHighlightId(revealId);
    onRevealed?.();
  }, [containerRef, revealId, release, onRevealed]);
  return highlightId;
}
