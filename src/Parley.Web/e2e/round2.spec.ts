import { expect, test } from '@playwright/test';
import { ParleyApp, uniqueUserName } from './parley-app';

// Issue 17: the details a new user notices in the first five minutes. One test per bug.

const sendRoute = /\/api\/conversations\/[^/]+\/messages$/;

test('a failed first send leaves no empty conversation behind', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}1`));

  // The server refuses the turn (as it does at 0 tokens, or when the queue is full).
  await page.route(sendRoute, (route) =>
    route.request().method() === 'POST'
      ? route.fulfill({
          status: 429,
          contentType: 'application/problem+json',
          body: JSON.stringify({ status: 429, title: 'Too Many Requests', detail: 'The queue is full.' }),
        })
      : route.fallback(),
  );
  const input = app.byTestId('message-input');
  for (const text of ['first try', 'second try']) {
    await input.fill(text);
    await input.press('Enter');
    await expect(app.byTestId('error')).toContainText('The queue is full.');
    await expect(input).toHaveValue(text);
  }
  await expect(page).toHaveURL(/\/$/);
  await app.openSidebar();
  await expect(app.byTestId('conversations-empty')).toBeVisible();
  await expect(app.conversationItems).toHaveCount(0);

  await page.reload();
  await app.openSidebar();
  await expect(app.byTestId('conversations-empty')).toBeVisible();
  await expect(app.conversationItems).toHaveCount(0);
});

test('raw HTML in a reply is shown as text, never dropped', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}2`));
  const text = 'Use <script>alert(1)</script> and <img src=x onerror=alert(2)> with a <b>bold</b> tag.';
  await app.send(text);
  const reply = app.messagesByRole('assistant').last().locator('.markdown');
  await expect(reply).toHaveText(text);
  await expect(reply.locator('script, img, b')).toHaveCount(0);
});

test('neutralised links and blocked images are plain text', async ({ page, context }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}3`));
  await app.send('A [bad link](javascript:alert(1)) and an ![evil picture](javascript:alert(2)) and [a good one](https://example.com/).');
  const reply = app.messagesByRole('assistant').last().locator('.markdown');
  await expect(reply).toContainText('A bad link and an evil picture and a good one.');
  await expect(reply.locator('img')).toHaveCount(0);
  await expect(reply.locator('a')).toHaveCount(1);
  await expect(reply.locator('a')).toHaveAttribute('href', 'https://example.com/');
  await expect(reply.getByText('bad link')).not.toHaveAttribute('href');
  const pages = context.pages().length;
  await reply.getByText('bad link').click();
  expect(context.pages()).toHaveLength(pages);
});

test('after a dropped connection the stored reply is shown, not "The reply failed."', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}4`));

  // The connection drops after the first words arrived: the page's stream errors, while the request itself keeps
  // running to the end (as it does behind a proxy), so the server finishes and stores the whole reply.
  await page.evaluate(() => {
    const original = window.fetch.bind(window);
    window.fetch = async (input, init) => {
      const response = await original(input, init);
      const accept = new Headers(init?.headers).get('accept') ?? '';
      // (A 204 — no turn running any more — passes as it is: a Response with a 204 status cannot have a body.)
      if (!accept.includes('text/event-stream') || !response.body || response.status !== 200) return response;
      const reader = response.body.getReader();
      let seen = '';
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value, done } = await reader.read();
          if (done) return controller.close();
          seen += new TextDecoder().decode(value);
          controller.enqueue(value);
          if (seen.includes('event: delta')) {
            controller.error(new TypeError('network error'));
            void (async () => {
              while (!(await reader.read()).done);
            })();
          }
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
  });
  // The network is still down for the first two re-reads.
  let failures = 0;
  const messagesUrl = (url: URL) => /\/api\/conversations\/[^/]+\/messages$/.test(url.pathname);
  await page.route(messagesUrl, (route) => {
    if (route.request().method() === 'GET' && failures < 2) {
      failures++;
      return route.abort('internetdisconnected');
    }
    return route.fallback();
  });

  const text = 'Alpha bravo charlie delta echo foxtrot golf hotel';
  const input = app.byTestId('message-input');
  await input.fill(text);
  await input.press('Enter');
  const reply = app.messagesByRole('assistant').last();
  await expect(reply).toHaveAttribute('data-status', 'completed', { timeout: 20_000 });
  await expect(reply.locator('.markdown')).toHaveText(text);
  await expect(reply).not.toContainText('The reply failed');
  expect(failures).toBe(2);
  await expect(app.byTestId('error')).toBeHidden();
});

test('at 0 tokens sending is disabled and the balance says why', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}5`));
  // The e2e server gives 1,000 tokens and charges 250 per message.
  await expect(app.byTestId('messages-left')).toHaveText('≈ 4 messages left');
  for (let i = 1; i <= 4; i++) await app.send(`message ${i}`);
  await expect(app.byTestId('messages-left')).toHaveText('≈ 0 messages left');
  const input = app.byTestId('message-input');
  await input.fill('one more');
  await expect(app.byTestId('send')).toBeDisabled();
  await input.press('Enter');
  await expect(input).toHaveValue('one more');
  await expect(app.messages).toHaveCount(8);
  await expect(app.byTestId('out-of-tokens')).toContainText('You are out of tokens');
  await expect(app.byTestId('out-of-tokens')).toContainText('Each message costs 250 tokens');
  await app.screenshot(`${testInfo.project.name}-out-of-tokens`);
});

test('deleting a conversation moves focus to the next one', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}6`));
  await app.send('Older chat');
  await app.newConversation();
  await app.closeSidebar();
  await app.send('Newer chat');
  await app.openSidebar();
  const item = app.conversationItem('Newer chat');
  await item.getByTestId('conversation-link').focus();
  await page.keyboard.press('Tab'); // rename
  await page.keyboard.press('Tab'); // delete
  await expect(item.getByTestId('delete-conversation')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('alertdialog')).toBeVisible();
  await app.byTestId('confirm-delete').focus();
  await page.keyboard.press('Enter');
  await expect(app.conversationItem('Newer chat')).toHaveCount(0);
  await expect(app.conversationItem('Older chat').getByTestId('conversation-link')).toBeFocused();
});

test('the narrow drawer takes focus and makes the page behind it inert', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'mobile', 'the drawer exists on narrow screens only');
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}7`));
  await app.byTestId('sidebar-toggle').click();
  const drawer = page.locator('#sidebar');
  await expect(app.byTestId('new-conversation')).toBeFocused();
  await expect(page.locator('main')).toHaveAttribute('inert', '');
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    expect(await drawer.evaluate((el) => el.contains(document.activeElement))).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(app.byTestId('new-conversation')).toBeHidden();
  await expect(page.locator('main')).not.toHaveAttribute('inert');
  await expect(app.byTestId('sidebar-toggle')).toBeFocused();
});

test('a weak password is marked invalid on submit', async ({ page }) => {
  const app = new ParleyApp(page);
  await app.goto('/');
  await app.byTestId('register-link').click();
  await app.byTestId('register-username').fill('weak_password_user');
  await app.byTestId('register-password').fill('password');
  await expect(app.byTestId('register-password')).not.toHaveAttribute('aria-invalid');
  await app.byTestId('register-submit').click();
  await expect(app.byTestId('register-password')).toHaveAttribute('aria-invalid', 'true');
  await expect(app.byTestId('register-password')).toBeFocused();
});
