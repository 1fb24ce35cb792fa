// Client-side mirrors of the server's account rules, for live feedback. The server stays the authority.

export interface PasswordRule {
  id: string;
  label: string;
  test: (password: string) => boolean;
}

export const PASSWORD_RULES: readonly PasswordRule[] = [
  { id: 'length', label: 'At least 8 characters', test: (p) => p.length >= 8 },
  { id: 'upper', label: 'An uppercase letter', test: (p) => /\p{Lu}/u.test(p) },
  { id: 'lower', label: 'A lowercase letter', test: (p) => /\p{Ll}/u.test(p) },
  { id: 'digit', label: 'A digit', test: (p) => /\d/.test(p) },
  { id: 'symbol', label: 'A symbol (e.g. ! ? # @)', test: (p) => /[^\p{L}\p{N}]/u.test(p) },
];

export function passwordMeetsPolicy(password: string): boolean {
  return PASSWORD_RULES.every((rule) => rule.test(password));
}

export const USERNAME_HINT = '3–32 characters: letters, digits, _ . -';

export function validateUserName(userName: string): string | null {
  if (userName.length < 3 || userName.length > 32) return 'Use 3 to 32 characters.';
  if (!/^[A-Za-z0-9_.-]+$/.test(userName)) return 'Use only letters, digits, _ . and -.';
  return null;
}

export function validateEmail(email: string): string | null {
  if (email === '') return null;
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? null : 'Enter a valid email address, or leave it empty.';
}
