import { AlertIcon, CloseIcon } from './icons';

interface ErrorBannerProps {
  message: string;
  onDismiss?: () => void;
  action?: { label: string; onClick: () => void };
  className?: string;
}

/** A clear, dismissible error. Every error the user sees goes through here (data-testid="error"). */
export function ErrorBanner({ message, onDismiss, action, className = '' }: ErrorBannerProps) {
  return (
    <div
      role="alert"
      data-testid="error"
      className={`flex items-start gap-2 rounded-xl border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 ${className}`}
    >
      <AlertIcon className="mt-0.5 shrink-0" />
      <p className="min-w-0 flex-1 break-words">{message}</p>
      {action && (
        <button
          type="button"
          onClick={action.onClick}
          className="shrink-0 rounded-md px-2 py-0.5 font-medium underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-red-700"
        >
          {action.label}
        </button>
      )}
      {onDismiss && (
        <button
          type="button"
          onClick={onDismiss}
          aria-label="Dismiss error"
          className="-m-0.5 shrink-0 rounded-md p-0.5 hover:bg-red-100 focus-visible:outline-2 focus-visible:outline-red-700"
        >
          <CloseIcon width={16} height={16} />
        </button>
      )}
    </div>
  );
}
