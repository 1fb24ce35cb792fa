import { useEffect, useRef, type FormEvent, type KeyboardEvent } from 'react';
import { SendIcon, StopIcon } from './icons';

interface MessageInputProps {
  value: string;
  onChange: (value: string) => void;
  onSend: (content: string) => void;
  onStop: () => void;
  streaming: boolean;
  disabled?: boolean;
  /** The text can be edited but not sent (e.g. out of tokens). */
  sendDisabled?: boolean;
  placeholder?: string;
  autoFocus?: boolean;
}

const MAX_HEIGHT = 200;

/** The composer: Enter sends, Shift+Enter adds a newline; while a reply streams, Stop replaces Send. */
export function MessageInput({
  value,
  onChange,
  onSend,
  onStop,
  streaming,
  disabled = false,
  sendDisabled = false,
  placeholder = 'Send a message',
  autoFocus = false,
}: MessageInputProps) {
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const canSend = !streaming && !disabled && !sendDisabled && value.trim().length > 0;

  // Grow with the text up to a limit, then scroll.
  useEffect(() => {
    const el = textareaRef.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT)}px`;
  }, [value]);

  function submit() {
    if (canSend) onSend(value);
  }

  function handleSubmit(event: FormEvent) {
    event.preventDefault();
    submit();
  }

  function handleKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key !== 'Enter' || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    submit();
  }

  return (
    <form onSubmit={handleSubmit} className="mx-auto w-full max-w-3xl">
      <div className="flex items-end gap-2 rounded-3xl border border-zinc-300 bg-white py-2 pr-2 pl-4 shadow-sm transition focus-within:border-zinc-400 focus-within:ring-3 focus-within:ring-zinc-900/10">
        <label htmlFor="message-input" className="sr-only">
          Message
        </label>
        <textarea
          id="message-input"
          ref={textareaRef}
          data-testid="message-input"
          rows={1}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={handleKeyDown}
          placeholder={placeholder}
          disabled={disabled}
          autoFocus={autoFocus}
          aria-describedby="message-input-hint"
          className="max-h-[200px] min-h-6 flex-1 resize-none self-center bg-transparent py-1.5 max-md:py-2.5 text-[15px] leading-6 text-zinc-900 outline-none placeholder:text-zinc-500 disabled:cursor-not-allowed"
        />
        {streaming ? (
          <button
            type="button"
            onClick={onStop}
            data-testid="stop"
            aria-label="Stop generating"
            className="flex size-9 shrink-0 items-center justify-center rounded-full bg-zinc-900 text-white hover:bg-zinc-700 max-md:size-11 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-zinc-900"
          >
            <StopIcon />
          </button>
        ) : (
          <button
            type="submit"
            data-testid="send"
            aria-label="Send message"
            disabled={!canSend}
            className="flex size-9 shrink-0 items-center justify-center rounded-full bg-zinc-900 text-white hover:bg-zinc-700 max-md:size-11 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-zinc-900 disabled:bg-zinc-200 disabled:text-zinc-400"
          >
            <SendIcon />
          </button>
        )}
      </div>
      <p id="message-input-hint" className="mt-1.5 hidden text-center text-xs text-zinc-500 sm:block">
        Enter to send · Shift+Enter for a new line
      </p>
    </form>
  );
}
