import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, problem, testClient } from '../test/fake-fetch';
import { renderWithApi } from '../test/render';
import { RegisterForm } from './register-form';

function metRules(): Record<string, boolean> {
  const list = screen.getByRole('list', { name: 'Password requirements' });
  return Object.fromEntries(
    within(list)
      .getAllByRole('listitem')
      .map((li): [string, boolean] => [li.dataset.rule ?? '', li.dataset.met === 'true']),
  );
}

describe('RegisterForm', () => {
  it('checks the password policy live as the user types', async () => {
    const { api } = testClient(() => json({}), { signedIn: false });
    const { user } = renderWithApi(<RegisterForm onShowLogin={() => {}} />, api);
    const password = screen.getByTestId('register-password');

    expect(metRules()).toEqual({ length: false, upper: false, lower: false, digit: false, symbol: false });
    await user.type(password, 'abc');
    expect(metRules()).toEqual({ length: false, upper: false, lower: true, digit: false, symbol: false });
    await user.type(password, 'DEF12');
    expect(metRules()).toEqual({ length: true, upper: true, lower: true, digit: true, symbol: false });
    await user.type(password, '!');
    expect(metRules()).toEqual({ length: true, upper: true, lower: true, digit: true, symbol: true });
  });

  it('does not send a password that breaks the policy', async () => {
    const { api, requests } = testClient(() => json({}), { signedIn: false });
    const { user } = renderWithApi(<RegisterForm onShowLogin={() => {}} />, api);
    await user.type(screen.getByTestId('register-username'), 'alice');
    await user.type(screen.getByTestId('register-password'), 'short');
    await user.click(screen.getByTestId('register-submit'));
    expect(requests).toHaveLength(0);
  });

  const tokens = { accessToken: 'a', tokenType: 'Bearer', expiresIn: 900, refreshToken: 'r' };
  const registerThenLogin = () => json({ id: '1', userName: 'alice', role: 'user', tokens }, 201);

  it('registers and is signed in by the registration itself', async () => {
    const { api, requests, session } = testClient(registerThenLogin, { signedIn: false });
    const { user } = renderWithApi(<RegisterForm onShowLogin={() => {}} />, api);
    await user.type(screen.getByTestId('register-username'), 'alice');
    await user.type(screen.getByTestId('register-email'), 'alice@example.com');
    await user.type(screen.getByTestId('register-password'), 'Secret#123');
    await user.click(screen.getByTestId('register-submit'));

    await waitFor(() => expect(session.get()?.accessToken).toBe('a'));
    expect(requests.map((r) => new URL(r.url).pathname)).toEqual(['/api/auth/register']);
    expect(await requests[0]!.json()).toEqual({ userName: 'alice', email: 'alice@example.com', password: 'Secret#123' });
  });

  it('omits an empty email', async () => {
    const { api, requests } = testClient(registerThenLogin, { signedIn: false });
    const { user } = renderWithApi(<RegisterForm onShowLogin={() => {}} />, api);
    await user.type(screen.getByTestId('register-username'), 'bob');
    await user.type(screen.getByTestId('register-password'), 'Secret#123{Enter}');
    await waitFor(() => expect(requests).toHaveLength(1));
    expect(await requests[0]!.json()).toEqual({ userName: 'bob', password: 'Secret#123' });
  });

  it('shows the server field errors next to each field', async () => {
    const { api } = testClient(
      () =>
        problem(400, {
          errors: {
            password: ['Passwords must have at least 12 characters.', 'Passwords must not contain the user name.'],
            email: ['That email is not allowed.'],
          },
        }),
      { signedIn: false },
    );
    const { user } = renderWithApi(<RegisterForm onShowLogin={() => {}} />, api);
    await user.type(screen.getByTestId('register-username'), 'alice');
    await user.type(screen.getByTestId('register-email'), 'a@b.co');
    await user.type(screen.getByTestId('register-password'), 'Alice#123{Enter}');

    const password = screen.getByTestId('register-password');
    await waitFor(() => expect(password).toHaveAttribute('aria-invalid', 'true'));
    expect(password).toHaveAccessibleDescription(
      expect.stringContaining('Passwords must have at least 12 characters. Passwords must not contain the user name.'),
    );
    expect(screen.getByTestId('register-email')).toHaveAccessibleDescription('That email is not allowed.');
    expect(screen.getByTestId('register-username')).not.toHaveAttribute('aria-invalid');
  });

  it('shows a conflict on the user name field (409) and clears it when the name is edited', async () => {
    const { api } = testClient(() => problem(409, { errors: { userName: ['The user name is already taken.'] } }), {
      signedIn: false,
    });
    const { user } = renderWithApi(<RegisterForm onShowLogin={() => {}} />, api);
    const userName = screen.getByTestId('register-username');
    await user.type(userName, 'alice');
    await user.type(screen.getByTestId('register-password'), 'Secret#123{Enter}');

    expect(await screen.findByText('The user name is already taken.')).toBeVisible();
    expect(userName).toHaveAccessibleDescription(expect.stringContaining('The user name is already taken.'));
    await user.type(userName, '2');
    expect(screen.queryByText('The user name is already taken.')).toBeNull();
  });

  it('validates the user name format before sending', async () => {
    const { api, requests } = testClient(() => json({}), { signedIn: false });
    const { user } = renderWithApi(<RegisterForm onShowLogin={() => {}} />, api);
    await user.type(screen.getByTestId('register-username'), 'a b');
    await user.type(screen.getByTestId('register-password'), 'Secret#123{Enter}');
    expect(screen.getByTestId('register-username')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText('Use only letters, digits, _ . and -.')).toBeVisible();
    expect(requests).toHaveLength(0);
  });
});
