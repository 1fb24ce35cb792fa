import type { ReactNode } from 'react';
import { setTheme, useTheme, type Theme } from '../lib/theme';
import { MonitorIcon, MoonIcon, SunIcon } from './icons';

const choices: { value: Theme; label: string; icon: ReactNode }[] = [
  { value: 'light', label: 'Light', icon: <SunIcon width={15} height={15} /> },
  { value: 'dark', label: 'Dark', icon: <MoonIcon width={15} height={15} /> },
  { value: 'system', label: 'System', icon: <MonitorIcon width={15} height={15} /> },
];

/** Light / Dark / System, remembered in this browser. */
export function ThemePicker() {
  const theme = useTheme();
  return (
    <div role="group" aria-label="Theme" className="flex rounded-lg border border-zinc-200 bg-white p-0.5" data-testid="theme-picker">
      {choices.map((choice) => (
        <button
          key={choice.value}
          type="button"
          aria-pressed={theme === choice.value}
          onClick={() => setTheme(choice.value)}
          title={`${choice.label} theme`}
          data-testid={`theme-${choice.value}`}
          className={`theme-choice flex flex-1 items-center justify-center gap-1.5 rounded-md px-2 text-xs font-medium ${
            theme === choice.value ? 'bg-zinc-100 text-zinc-900' : 'text-zinc-600 hover:text-zinc-900'
          }`}
        >
          {choice.icon}
          {choice.label}
        </button>
      ))}
    </div>
  );
}
