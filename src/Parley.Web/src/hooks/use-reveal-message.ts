import { useCallback, useEffect, useRef, useState } from 'react';
import type { LoadState } from './use-chat';
import type { Message } from '../lib/types';

/** A request to show one message of the open conversation (a search result); a new `nonce` asks again. */
export interface RevealTarget {
  messageId: string;
  nonce: number;
}

interface ChatView {
  load: LoadState;
  messages: Message[];
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder: () => void;
  /** Switches to the branch of a message and shows it (PUT …/current, then the branch's last page). */
  switchBranch: (messageId: string) => Promise<void>;
  streaming: boolean;
}

/**
 * Brings a message into the loaded list so the view can scroll to it: older pages are loaded until it appears; when
 * the whole current branch is loaded without it, the conversation switches to a branch that holds it (the newest one
 * below it), once. Returns the id to reveal once it is in `messages` (null before, and after `onRevealed`).
 */
export function useRevealMessage(target: RevealTarget | null | undefined, chat: ChatView) {
  const [done, setDone] = useState<number | null>(null);
  /** The target whose branch switch has finished (so a miss after it means the message is gone). */
  const [switched, setSwitched] = useState<number | null>(null);
  /** The target whose branch switch was asked for (at most one per target). */
  const switchedRef = useRef<number | null>(null);
  const pending = target && done !== target.nonce ? target : null;
  const present = pending !== null && chat.messages.some((m) => m.id === pending.messageId);
  const { load, hasOlder, loadingOlder, loadOlder, switchBranch, streaming } = chat;

  useEffect(() => {
    if (!pending || present || load.kind !== 'ready' || streaming) return;
    if (hasOlder) {
      if (!loadingOlder) loadOlder();
      return;
    }
    if (switchedRef.current === pending.nonce) {
      // Not in any branch it switched to (deleted meanwhile): leave the conversation as it is.
      if (switched === pending.nonce) setDone(pending.nonce);
      return;
    }
    switchedRef.current = pending.nonce;
    const nonce = pending.nonce;
    void switchBranch(pending.messageId).finally(() => setSwitched(nonce));
  }, [pending, present, load.kind, streaming, hasOlder, loadingOlder, loadOlder, switchBranch, switched]);

  const nonce = pending?.nonce ?? null;
  const onRevealed = useCallback(() => {
    if (nonce !== null) setDone(nonce);
  }, [nonce]);

  return { revealId: present ? pending.messageId : null, onRevealed };
}
