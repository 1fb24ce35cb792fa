import { useSyncExternalStore } from 'react';

/** The colour scheme the user chose; `system` follows the operating system (the default). */
export type Theme = 'system' | 'light' | 'dark';

const STORAGE_KEY = 'parley.theme';
const listeners = new Set<() => void>();

function read(): Theme {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

let current: Theme = typeof localStorage === 'undefined' ? 'system' : read();

function systemPrefersDark(): boolean {
  return typeof window.matchMedia === 'function' && window.matchMedia('(prefers-color-scheme: dark)').matches;
}

/**
 * Puts `dark` or `light` on <html>: index.css sets `color-scheme` from it, and the palette follows (light-dark()).
 * Before this runs the page already follows the system, so a dark system never sees a white flash.
 */
function apply(): void {
  const dark = current === 'dark' || (current === 'system' && systemPrefersDark());
  document.documentElement.classList.toggle('dark', dark);
  document.documentElement.classList.toggle('light', !dark);
}

export function setTheme(theme: Theme): void {
  current = theme;
  try {
    if (theme === 'system') localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, theme);
  } catch {
    // Private mode: the choice lasts as long as the page.
  }
  apply();
  for (const listener of listeners) listener();
}

/** Applies the stored theme before the first render and follows the system scheme and other tabs from then on. */
export function initTheme(): void {
  apply();
  if (typeof window.matchMedia === 'function') {
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', apply);
  }
  window.addEventListener('storage', (event) => {
    if (event.key !== STORAGE_KEY && event.key !== null) return;
    current = read();
    apply();
    for (const listener of listeners) listener();
  });
}

export function useTheme(): Theme {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
  );
}
