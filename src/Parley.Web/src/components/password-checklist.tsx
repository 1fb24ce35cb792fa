import { PASSWORD_RULES } from '../lib/validation';
import { CheckIcon, DotIcon } from './icons';

/** Live feedback on the password policy as the user types. */
export function PasswordChecklist({ password }: { password: string }) {
  return (
    <ul aria-label="Password requirements" className="grid grid-cols-1 gap-x-3 gap-y-1 text-xs sm:grid-cols-2">
      {PASSWORD_RULES.map((rule) => {
        const met = rule.test(password);
        return (
          <li
            key={rule.id}
            data-rule={rule.id}
            data-met={met}
            className={`flex items-center gap-1.5 ${met ? 'text-emerald-700' : 'text-zinc-500'}`}
          >
            {met ? <CheckIcon width={14} height={14} /> : <DotIcon width={14} height={14} />}
            <span>
              {rule.label}
              <span className="sr-only">{met ? ' (met)' : ' (not met yet)'}</span>
            </span>
          </li>
        );
      })}
    </ul>
  );
}
