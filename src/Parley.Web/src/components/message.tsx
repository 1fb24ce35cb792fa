import { Suspense, lazy, memo, useState, type KeyboardEvent } from 'react';
import { copyText } from '../lib/clipboard';
import { isLocalMessage } from '../lib/messages';
import { showToast } from '../lib/toast';
import type { Message as MessageModel } from '../lib/types';
import { SourceChips } from './source-chips';
import { ChevronLeftIcon, ChevronRightIcon, CopyIcon, LogoIcon, PencilIcon, RegenerateIcon } from './icons';

/** What a stored message offers besides copying: its versions, editing (user) and regenerating (the last reply). */
export interface MessageBranchActions {
  /** Another version of this message (a sibling id) was picked. */
  onSwitch?: (messageId: string) => void;
  /** User messages: sends `content` as a new version of `message`. */
  onEdit?: (message: MessageModel, content: string) => void;
  /** Writes a new version of a reply (offered on the last one, see `last`). */
  onRegenerate?: (message: MessageModel) => void;
  /** The message is the last one shown (its reply can be regenerated). */
  last?: boolean;
  /** A turn is running: the actions wait. */
  busy?: boolean;
}

/** "< 2/3 >": the message's position among its versions, with buttons to the previous and next one. */
function VersionPicker({ message, onSwitch, busy }: { message: MessageModel } & MessageBranchActions) {
  const siblings = message.siblingIds ?? [];
  const index = siblings.indexOf(message.id);
  if (siblings.length < 2 || index < 0 || !onSwitch) return null;
  const previous = siblings[index - 1];
  const next = siblings[index + 1];
  return (
    <span className="inline-flex items-center" data-testid="version-picker">
      <button
        type="button"
        className="icon-button size-7"
        aria-label="Previous version"
        data-testid="previous-version"
        disabled={busy || previous === undefined}
        onClick={() => previous !== undefined && onSwitch(previous)}
      >
        <ChevronLeftIcon width={15} height={15} />
      </button>
      <span className="tabular-nums" data-testid="version-label">{`${index + 1}/${siblings.length}`}</span>
      <button
        type="button"
        className="icon-button size-7"
        aria-label="Next version"
        data-testid="next-version"
        disabled={busy || next === undefined}
        onClick={() => next !== undefined && onSwitch(next)}
      >
        <ChevronRightIcon width={15} height={15} />
      </button>
    </span>
  );
}

/** Edits a user message in place: Enter (or Save) sends the new version, Escape (or Cancel) keeps the old one. */
function EditBox({ initial, onSave, onCancel }: { initial: string; onSave: (content: string) => void; onCancel: () => void }) {
  const [draft, setDraft] = useState(initial);
  const save = () => {
    if (draft.trim() && draft !== initial) onSave(draft);
    else onCancel();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      save();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      onCancel();
    }
  };
  return (
    <div className="flex w-full max-w-[85%] flex-col gap-2 rounded-2xl bg-zinc-100 p-2">
      <textarea
        aria-label="Edit your message"
        data-testid="edit-message-input"
        value={draft}
        autoFocus
        rows={Math.min(8, Math.max(2, draft.split('\n').length))}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={onKeyDown}
        className="w-full resize-y rounded-xl border border-zinc-300 bg-white px-3 py-2 text-[15px] leading-relaxed text-zinc-900 outline-none focus-visible:ring-3 focus-visible:ring-zinc-900/15"
      />
      <div className="flex justify-end gap-2">
        <button type="button" className="btn-ghost h-8 px-3 text-sm" onClick={onCancel} data-testid="cancel-edit">
          Cancel
        </button>
        <button type="button" className="btn-primary h-8 px-3 text-sm" onClick={save} data-testid="save-edit">
          Send
        </button>
      </div>
    </div>
  );
}

// The markdown renderer is most of the bundle: it loads in its own chunk, so the login screen does not wait for it.
export const loadMarkdown = () => import('./markdown');
const Markdown = lazy(() => loadMarkdown().then((module) => ({ default: module.Markdown })));

function StatusNote({ message }: { message: MessageModel }) {
  if (message.status === 'cancelled') return <p className="mt-1 text-xs text-zinc-500">Stopped</p>;
  if (message.status === 'failed') return <p className="mt-1 text-xs text-red-700">The reply failed.</p>;
  if (message.finishReason === 'length') {
    return <p className="mt-1 text-xs text-zinc-500">Cut off at the reply length limit</p>;
  }
  return null;
}

/** The tokens a reply cost (prompt read plus reply written), and the model that wrote it. */
function UsageNote({ message }: { message: MessageModel }) {
  if (!message.usage) return null;
  const { promptTokens, completionTokens } = message.usage;
  return (
    <p
      className="mt-1 text-xs text-zinc-500"
      data-testid="usage"
      title={`${promptTokens} prompt tokens + ${completionTokens} reply tokens`}
    >
      {`${promptTokens + completionTokens} tokens`}
      {message.model ? ` · ${message.model}` : ''}
    </p>
  );
}

function Typing() {
  return (
    <span className="inline-flex items-center gap-1 py-2" role="status" aria-label="Assistant is replying">
      <span className="typing-dot" />
      <span className="typing-dot" />
      <span className="typing-dot" />
    </span>
  );
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Copy and the time sent, under a stored message (outside its article, so the message's text is its content only): shown on hover or keyboard focus (always on touch screens). */
function MessageActions({
  message,
  align,
  onStartEdit,
  ...branch
}: { message: MessageModel; align: 'start' | 'end'; onStartEdit?: () => void } & MessageBranchActions) {
  if (isLocalMessage(message) || message.status === 'pending') return null;
  const date = new Date(message.createdAt);
  const valid = !Number.isNaN(date.getTime());
  // The versions ("< 2/3 >") are always shown; the other actions on hover or focus.
  return (
    <div className={`mt-1 flex items-center gap-1 text-xs text-zinc-500 ${align === 'end' ? 'justify-end' : ''}`}>
      {align === 'end' && <VersionPicker message={message} {...branch} />}
      <div className="message-actions flex items-center gap-1">
        {valid && (
          <time dateTime={message.createdAt} title={dateTimeFormat.format(date)} data-testid="message-time" className="px-1">
            {timeFormat.format(date)}
          </time>
        )}
        <button
          type="button"
          className="icon-button size-7"
          aria-label={message.role === 'user' ? 'Copy your message' : 'Copy reply'}
          data-testid="copy-message"
          onClick={() => void copyText(message.content).then((ok) => showToast(ok ? 'Copied to clipboard' : 'Could not copy'))}
        >
          <CopyIcon width={15} height={15} />
        </button>
        {onStartEdit && (
          <button
            type="button"
            className="icon-button size-7"
            aria-label="Edit your message"
            data-testid="edit-message"
            disabled={branch.busy}
            onClick={onStartEdit}
          >
            <PencilIcon width={15} height={15} />
          </button>
        )}
        {branch.onRegenerate && branch.last && message.role === 'assistant' && (
          <button
            type="button"
            className="icon-button size-7"
            aria-label="Regenerate reply"
            data-testid="regenerate"
            disabled={branch.busy}
            onClick={() => branch.onRegenerate?.(message)}
          >
            <RegenerateIcon width={15} height={15} />
          </button>
        )}
      </div>
      {align === 'start' && <VersionPicker message={message} {...branch} />}
    </div>
  );
}

/** One message: user text as plain text (whitespace kept), assistant text as sanitized markdown. */
export const Message = memo(function Message({ message, ...branch }: { message: MessageModel } & MessageBranchActions) {
  const [editing, setEditing] = useState(false);
  if (message.role === 'user') {
    const { onEdit } = branch;
    return (
      <div className="group" data-testid="message-row" data-role="user">
        <article
          aria-label="Your message"
          data-testid="message"
          data-role="user"
          data-status={message.status}
          className="flex justify-end"
        >
          {editing && onEdit ? (
            <EditBox
              initial={message.content}
              onCancel={() => setEditing(false)}
              onSave={(content) => {
                setEditing(false);
                onEdit(message, content);
              }}
            />
          ) : (
            <div
              className={`max-w-[85%] whitespace-pre-wrap break-words rounded-2xl rounded-br-md bg-zinc-100 px-4 py-2.5 text-[15px] leading-relaxed text-zinc-900 ${isLocalMessage(message) ? 'opacity-70' : ''}`}
            >
              {message.content}
            </div>
          )}
        </article>
        {!editing && (
          <MessageActions message={message} align="end" onStartEdit={onEdit ? () => setEditing(true) : undefined} {...branch} />
        )}
      </div>
    );
  }
  const waiting = message.status === 'pending' && message.content === '';
  return (
    <div className="group" data-testid="message-row" data-role="assistant">
      <article
        aria-label="Assistant message"
        data-testid="message"
        data-role="assistant"
        data-status={message.status}
        className="flex gap-3"
      >
        <div className="mt-0.5 shrink-0 text-zinc-900">
          <LogoIcon width={24} height={24} />
        </div>
        <div className="min-w-0 flex-1 text-[15px] leading-relaxed text-zinc-900">
          {waiting ? (
            <Typing />
          ) : (
            <Suspense fallback={<div className="whitespace-pre-wrap">{message.content}</div>}>
              <Markdown>{message.content}</Markdown>
            </Suspense>
          )}
          <StatusNote message={message} />
          <UsageNote message={message} />
          <SourceChips sources={message.sources} />
        </div>
      </article>
      <div className="pl-9">
        <MessageActions message={message} align="start" {...branch} />
      </div>
    </div>
  );
});
