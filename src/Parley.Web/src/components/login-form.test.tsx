import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { json, problem, testClient } from '../test/fake-fetch';
import { renderWithApi } from '../test/render';
import { LoginForm } from './login-form';

const pair = { accessToken: 'a', refreshToken: 'r', tokenType: 'Bearer', expiresIn: 900 };

describe('LoginForm', () => {
  it('logs in and stores the session', async () => {
    const { api, session, requests } = testClient(() => json(pair), { signedIn: false });
    const { user } = renderWithApi(<LoginForm onShowRegister={() => {}} />, api);

    await user.type(screen.getByTestId('login-username'), 'alice');
    await user.type(screen.getByTestId('login-password'), 'Secret#123');
    await user.click(screen.getByTestId('login-submit'));

    expect(await requests[0]!.json()).toEqual({ userName: 'alice', password: 'Secret#123' });
    expect(session.get()?.accessToken).toBe('a');
  });

  it('says the credentials are wrong on 401 and keeps what was typed', async () => {
    const { api, session } = testClient(() => problem(401, { title: 'Unauthorized' }), { signedIn: false });
    const { user } = renderWithApi(<LoginForm onShowRegister={() => {}} />, api);

    await user.type(screen.getByTestId('login-username'), 'alice');
    await user.type(screen.getByTestId('login-password'), 'wrong{Enter}');

    expect(await screen.findByTestId('error')).toHaveTextContent('Incorrect user name or password.');
    expect(screen.getByTestId('login-username')).toHaveValue('alice');
    expect(session.get()).toBeNull();
  });

  it('shows the server detail when logins are locked out', async () => {
    const { api } = testClient(() => problem(429, { detail: 'Locked for 5 minutes.' }), { signedIn: false });
    const { user } = renderWithApi(<LoginForm onShowRegister={() => {}} />, api);
    await user.type(screen.getByTestId('login-username'), 'alice');
    await user.type(screen.getByTestId('login-password'), 'x{Enter}');
    expect(await screen.findByTestId('error')).toHaveTextContent('Locked for 5 minutes.');
  });

  it('shows field errors next to their field', async () => {
    const { api } = testClient(() => problem(400, { errors: { userName: ['The user name is required.'] } }), {
      signedIn: false,
    });
    const { user } = renderWithApi(<LoginForm onShowRegister={() => {}} />, api);
    await user.type(screen.getByTestId('login-username'), ' x');
    await user.type(screen.getByTestId('login-password'), 'x{Enter}');
    const input = screen.getByTestId('login-username');
    await waitFor(() => expect(input).toHaveAttribute('aria-invalid', 'true'));
    expect(input).toHaveAccessibleDescription('The user name is required.');
  });

  it('switches to registration', async () => {
    const onShowRegister = vi.fn();
    const { api } = testClient(() => json({}), { signedIn: false });
    const { user } = renderWithApi(<LoginForm onShowRegister={onShowRegister} />, api);
    await user.click(screen.getByTestId('register-link'));
    expect(onShowRegister).toHaveBeenCalledOnce();
  });
});
