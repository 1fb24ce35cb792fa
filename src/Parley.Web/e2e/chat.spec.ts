import { expect, test } from '@playwright/test';
import { PASSWORD, ParleyApp, uniqueUserName } from './parley-app';

test('register, chat with streaming, keep history, rename, delete, log out and back in', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  const project = testInfo.project.name;
  const userName = uniqueUserName(project);

  await test.step('register with live password feedback', async () => {
    await app.goto('/');
    await expect(app.byTestId('login-username')).toBeVisible();
    await app.screenshot(`${project}-login`);
    await app.byTestId('register-link').click();
    const password = app.byTestId('register-password');
    await password.fill('abc');
    await expect(page.locator('[data-rule="length"]')).toHaveAttribute('data-met', 'false');
    await expect(page.locator('[data-rule="lower"]')).toHaveAttribute('data-met', 'true');
    await page.getByRole('button', { name: 'Log in' }).click();
    await app.register(userName, PASSWORD, `${userName}@example.com`);
    // Registering signs the new user in: the empty chat with example prompts.
    await expect(app.byTestId('token-balance')).toHaveText(/\d/);
    await expect(app.byTestId('example-prompt')).toHaveCount(4);
  });

  const startBalance = await app.balance();
  const first = 'Hello **Parley**! Here is my list:\n\n- one\n- two\n\n```\nconst answer = 42;\n```';

  await test.step('send in a new conversation: the echo streams back as markdown', async () => {
    await app.newConversation();
    await app.closeSidebar();
    const contentType = await app.send(first);
    expect(contentType).toContain('text/event-stream');
    await expect(app.messages).toHaveCount(2);
    const user = app.messagesByRole('user').first();
    const assistant = app.messagesByRole('assistant').first();
    await expect(user).toContainText('Hello **Parley**!'); // plain text: the stars stay
    await expect(assistant.locator('strong')).toHaveText('Parley');
    await expect(assistant.locator('li')).toHaveText(['one', 'two']);
    await expect(assistant.locator('pre')).toHaveText('const answer = 42;');
    await expect(page).toHaveURL(/\/c\/[^/]+$/);
    expect(await app.balance()).toBeLessThan(startBalance);
  });
  const firstUrl = page.url();

  await test.step('the conversation is listed with a title from its first message', async () => {
    await app.openSidebar();
    await expect(app.conversationItems).toHaveCount(1);
    await expect(app.conversationItems.first()).toContainText('Hello');
    await app.closeSidebar();
  });

  await test.step('a second conversation moves to the top', async () => {
    await app.newConversation();
    await app.closeSidebar();
    await app.send('Second conversation\nwith two lines');
    await expect(app.messagesByRole('assistant').first()).toContainText('Second conversation');
    await expect(app.messagesByRole('user').first()).toHaveText('Second conversation\nwith two lines');
    await app.openSidebar();
    await expect(app.conversationItems).toHaveCount(2);
    await expect(app.conversationItems.first()).toContainText('Second conversation');
    if (app.isNarrow) await app.screenshot(`${project}-sidebar`);
    await app.closeSidebar();
  });
  const secondUrl = page.url();
  expect(secondUrl).not.toBe(firstUrl);

  await test.step('after a reload both histories are intact', async () => {
    await page.reload();
    await expect(page).toHaveURL(secondUrl);
    await expect(app.messages).toHaveCount(2);
    await expect(app.messagesByRole('assistant').first()).toContainText('Second conversation');
    await app.selectConversation('Hello');
    await expect(page).toHaveURL(firstUrl);
    await expect(app.messages).toHaveCount(2);
    await expect(app.messagesByRole('assistant').first().locator('strong')).toHaveText('Parley');
    await app.closeSidebar();
    await app.screenshot(`${project}-chat`);
  });

  await test.step('the back and forward buttons move between conversations', async () => {
    await page.goBack();
    await expect(page).toHaveURL(secondUrl);
    await expect(app.messagesByRole('user').first()).toHaveText('Second conversation\nwith two lines');
    await page.goForward();
    await expect(page).toHaveURL(firstUrl);
    await expect(app.messagesByRole('user').first()).toContainText('Hello **Parley**!');
  });

  await test.step('rename inline, and the new title survives a reload', async () => {
    await app.rename('Hello', 'Renamed chat');
    await page.reload();
    await app.openSidebar();
    await expect(app.conversationItem('Renamed chat')).toHaveCount(1);
  });

  await test.step('delete with confirmation', async () => {
    await app.delete('Second conversation');
    await expect(app.conversationItems).toHaveCount(1);
  });

  await test.step('log out and log in again', async () => {
    await app.logout();
    await app.login(userName, PASSWORD);
    await app.openSidebar();
    await expect(app.conversationItems).toHaveCount(1);
    await app.selectConversation('Renamed chat');
    await expect(app.messages).toHaveCount(2);
    await expect(app.messagesByRole('assistant').first().locator('li')).toHaveText(['one', 'two']);
  });
});

test('shows server field errors on registration and a clear login error', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  const userName = uniqueUserName(`${testInfo.project.name}x`);
  await app.signUp(userName);
  await app.logout();

  // Same name again: the server's 409 is shown next to the user name field.
  await app.register(userName, PASSWORD);
  await expect(app.byTestId('register-username')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('field-error').first()).toBeVisible();
  await app.screenshot(`${testInfo.project.name}-register-conflict`);

  await page.getByRole('button', { name: 'Log in' }).click();
  await app.byTestId('login-username').fill(userName);
  await app.byTestId('login-password').fill('Wrong#password1');
  await app.byTestId('login-submit').click();
  await expect(app.byTestId('error')).toContainText('Incorrect user name or password');
});

test('streams the reply as it arrives, and Stop keeps what was generated', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  const userName = uniqueUserName(`${testInfo.project.name}s`);
  await app.signUp(userName);

  // The echo comes back word by word with a pause between chunks (Bot__Echo__ChunkDelayMs in the global setup).
  const text = 'Alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november';
  const input = app.byTestId('message-input');
  await input.fill(text);
  await input.press('Enter');
  const reply = app.messagesByRole('assistant').last();
  await expect(reply).toHaveAttribute('data-status', 'pending');
  await expect(reply).toContainText('Alpha'); // a first chunk is shown before the reply is complete
  expect((await reply.innerText()).length).toBeLessThan(text.length);
  await expect(reply).toHaveAttribute('data-status', 'completed');
  await expect(reply.locator('.markdown')).toHaveText(text);
  await expect(reply.getByTestId('usage')).toHaveText(/^\d+ tokens · echo$/); // usage per reply

  // Now stop a reply part-way: the stored, cancelled part is shown, and it survives a reload.
  await input.fill(text);
  await input.press('Enter');
  await expect(app.byTestId('stop')).toBeVisible();
  const second = app.messagesByRole('assistant').nth(1);
  await expect(second).toContainText('Alpha');
  const stopRequest = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/stop'));
  await app.byTestId('stop').click();
  await stopRequest; // Stop goes through the server's stop endpoint, not by dropping the stream
  await expect(second).toHaveAttribute('data-status', 'cancelled');
  await expect(second).toContainText('Stopped');
  await expect(app.byTestId('send')).toBeVisible();
  await app.screenshot(`${testInfo.project.name}-stopped`);
  const partial = (await second.locator('.markdown').innerText()).trim();
  expect(partial.length).toBeLessThan(text.length);
  expect(text.startsWith(partial)).toBe(true);

  await page.reload();
  const reloaded = app.messagesByRole('assistant').nth(1);
  await expect(reloaded).toHaveAttribute('data-status', 'cancelled');
  await expect(reloaded.locator('.markdown')).toHaveText(partial);
});

test('network loss keeps the typed text, and Retry sends it once', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  const userName = uniqueUserName(`${testInfo.project.name}n`);
  await app.signUp(userName);
  const balance = await app.balance();

  const sendRoute = /\/api\/conversations\/[^/]+\/messages$/;
  await page.route(sendRoute, (route) =>
    route.request().method() === 'POST' ? route.abort('internetdisconnected') : route.fallback(),
  );
  const input = app.byTestId('message-input');
  await input.fill('Do not lose me');
  await input.press('Enter');
  const error = app.byTestId('error');
  await expect(error).toContainText('Could not reach the server');
  await expect(input).toHaveValue('Do not lose me');
  await expect(app.messages).toHaveCount(0);
  await app.screenshot(`${testInfo.project.name}-network-error`);

  await page.unroute(sendRoute);
  await error.getByRole('button', { name: 'Retry' }).click();
  await expect(app.messagesByRole('assistant').locator('.markdown')).toHaveText(['Do not lose me']);
  await expect(error).toBeHidden();
  await expect(input).toHaveValue('');
  await page.reload();
  await expect(app.messagesByRole('user')).toHaveText(['Do not lose me']);
  expect(await app.balance()).toBeLessThan(balance);
});

test('an expired access token is refreshed; a revoked session goes back to login', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  const userName = uniqueUserName(`${testInfo.project.name}r`);
  await app.signUp(userName);
  await app.send('still here');
  const url = page.url();

  // A bad access token gets a 401; the app refreshes once and carries on.
  await page.evaluate(() => {
    const session = JSON.parse(localStorage.getItem('parley.session')!) as Record<string, unknown>;
    localStorage.setItem('parley.session', JSON.stringify({ ...session, accessToken: 'expired' }));
  });
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh'));
  await page.reload();
  expect((await refreshed).status()).toBe(200);
  await expect(page).toHaveURL(url);
  await expect(app.messagesByRole('assistant').locator('.markdown')).toHaveText(['still here']);

  // With an unknown refresh token too, the refresh fails and the login screen appears.
  await page.evaluate(() => {
    localStorage.setItem(
      'parley.session',
      JSON.stringify({ accessToken: 'expired', refreshToken: 'revoked', expiresAt: Date.now() + 600_000 }),
    );
  });
  await page.reload();
  await expect(app.byTestId('login-username')).toBeVisible();
  await expect(page.getByRole('status')).toHaveText('Your session has expired. Log in again to continue.');
  await app.login(userName, PASSWORD);
  await expect(app.messagesByRole('assistant').locator('.markdown')).toHaveText(['still here']);
});

test('auto-scroll follows a streaming reply, but not after the user scrolls up', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  const userName = uniqueUserName(`${testInfo.project.name}a`);
  await app.signUp(userName);
  const list = app.byTestId('messages');
  const distanceFromBottom = () => list.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
  const tall = (tag: string) => Array.from({ length: 40 }, (_, i) => `${tag} line ${i + 1}`).join('\n\n');
  const input = app.byTestId('message-input');

  await input.fill(tall('first'));
  await input.press('Enter');
  await expect(app.messagesByRole('assistant').last()).toHaveAttribute('data-status', 'completed');
  await expect.poll(distanceFromBottom).toBeLessThan(5);

  await input.fill(tall('second'));
  await input.press('Enter');
  const reply = app.messagesByRole('assistant').last();
  await expect(reply).toContainText('second line 1');
  await expect(reply).toHaveAttribute('data-status', 'pending');
  await list.hover();
  await page.mouse.wheel(0, -600);
  await expect.poll(distanceFromBottom).toBeGreaterThan(300);
  const scrolledTo = await list.evaluate((el) => el.scrollTop);
  await expect(reply).toHaveAttribute('data-status', 'completed');
  await expect(reply).toContainText('second line 40');
  expect(Math.abs((await list.evaluate((el) => el.scrollTop)) - scrolledTo)).toBeLessThan(3);

  await page.getByRole('button', { name: 'Scroll to latest message' }).click();
  await expect.poll(distanceFromBottom).toBeLessThan(5);
});
