import { Suspense, lazy, memo } from 'react';
import { copyText } from '../lib/clipboard';
import { isLocalMessage } from '../lib/messages';
import { showToast } from '../lib/toast';
import type { Message as MessageModel } from '../lib/types';
import { CopyIcon, LogoIcon } from './icons';

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
function MessageActions({ message, align }: { message: MessageModel; align: 'start' | 'end' }) {
  if (isLocalMessage(message) || message.status === 'pending') return null;
  const date = new Date(message.createdAt);
  const valid = !Number.isNaN(date.getTime());
  return (
    <div
      className={`message-actions mt-1 flex items-center gap-1 text-xs text-zinc-500 ${align === 'end' ? 'justify-end' : ''}`}
    >
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
    </div>
  );
}

/** One message: user text as plain text (whitespace kept), assistant text as sanitized markdown. */
export const Message = memo(function Message({ message }: { message: MessageModel }) {
  if (message.role === 'user') {
    return (
      <div className="group">
        <article
          aria-label="Your message"
          data-testid="message"
          data-role="user"
          data-status={message.status}
          className="flex justify-end"
        >
          <div
            className={`max-w-[85%] whitespace-pre-wrap break-words rounded-2xl rounded-br-md bg-zinc-100 px-4 py-2.5 text-[15px] leading-relaxed text-zinc-900 ${isLocalMessage(message) ? 'opacity-70' : ''}`}
          >
            {message.content}
          </div>
        </article>
        <MessageActions message={message} align="end" />
      </div>
    );
  }
  const waiting = message.status === 'pending' && message.content === '';
  return (
    <div className="group">
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
        </div>
      </article>
      <div className="pl-9">
        <MessageActions message={message} align="start" />
      </div>
    </div>
  );
});
