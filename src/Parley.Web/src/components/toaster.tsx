import { useToast } from '../lib/toast';
import { CheckIcon } from './icons';

/** The app's toast: a polite live region at the bottom of the screen that is always in the page. */
export function Toaster() {
  const toast = useToast();
  return (
    <div role="status" aria-live="polite" className="pointer-events-none fixed inset-x-0 bottom-24 z-50 flex justify-center px-4">
      {toast && (
        <p
          key={toast.id}
          data-testid="toast"
          className="flex items-center gap-2 rounded-full bg-zinc-900 px-4 py-2 text-sm font-medium text-white shadow-lg"
        >
          <CheckIcon width={16} height={16} />
          {toast.message}
        </p>
      )}
    </div>
  );
}
