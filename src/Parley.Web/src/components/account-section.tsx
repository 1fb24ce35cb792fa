import type { ReactNode } from 'react';

/** A titled card of the account page. */
export function Section({ title, children, testId }: { title: string; children: ReactNode; testId: string }) {
  return (
    <section aria-label={title} data-testid={testId} className="rounded-2xl border border-zinc-200 bg-white p-4 sm:p-6">
      <h3 className="mb-4 text-[15px] font-semibold text-zinc-900">{title}</h3>
      {children}
    </section>
  );
}
