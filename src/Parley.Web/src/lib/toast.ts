import { useSyncExternalStore } from 'react';

/** One short confirmation ("Copied", "Conversation deleted"), shown by <Toaster/> and read out politely. */
export interface Toast {
  id: number;
  message: string;
}

let current: Toast | null = null;
let nextId = 1;
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();

function emit() {
  for (const listener of listeners) listener();
}

export function showToast(message: string, durationMs = 3000): void {
  current = { id: nextId++, message };
  clearTimeout(timer);
  timer = setTimeout(() => {
    current = null;
    emit();
  }, durationMs);
  emit();
}

export function useToast(): Toast | null {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
  );
}
