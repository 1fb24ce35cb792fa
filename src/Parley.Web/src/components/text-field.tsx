import { useId, type InputHTMLAttributes, type ReactNode } from 'react';

interface TextFieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> {
  label: string;
  /** Field errors, e.g. from the server's ProblemDetails `errors`. */
  errors?: string[];
  hint?: ReactNode;
  /** Extra content under the input (e.g. the password checklist); it is described-by the input. */
  children?: ReactNode;
}

export function TextField({ label, errors = [], hint, children, className = '', ...input }: TextFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const extraId = `${id}-extra`;
  const describedBy = [hint ? hintId : null, children ? extraId : null, errors.length ? errorId : null]
    .filter(Boolean)
    .join(' ');
  return (
    <div className={`flex flex-col gap-1.5 ${className}`}>
      <label htmlFor={id} className="text-sm font-medium text-zinc-800">
        {label}
      </label>
      <input
        id={id}
        aria-invalid={errors.length > 0 || undefined}
        aria-describedby={describedBy || undefined}
        className="h-10 rounded-lg border border-zinc-300 bg-white px-3 text-[15px] text-zinc-900 shadow-xs outline-none transition placeholder:text-zinc-500 focus:border-zinc-500 focus-visible:ring-3 focus-visible:ring-zinc-900/15 aria-invalid:border-red-400 aria-invalid:focus-visible:ring-red-500/20"
        {...input}
      />
      {hint && (
        <p id={hintId} className="text-xs text-zinc-500">
          {hint}
        </p>
      )}
      {children && <div id={extraId}>{children}</div>}
      {errors.length > 0 && (
        <ul id={errorId} className="flex flex-col gap-0.5 text-xs text-red-700" data-testid="field-error">
          {errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
